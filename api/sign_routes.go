package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"

	"kyso/auth"
	"kyso/problem"
	"kyso/signer"
	"kyso/signer/csc"
)

// SignArea serves signing: the plain endpoints under /v1/sign, the Cloud
// Signature Consortium API under /csc/v2 and the time-stamp authority at
// /tsa.
type SignArea struct {
	svc *csc.Service
	tsa http.Handler
	log *slog.Logger
	// MaxDocument bounds uploaded documents (default 256 MiB).
	MaxDocument int64
	// TempDir holds uploaded PDFs while they are signed ("" = os.TempDir).
	TempDir string
}

// NewSignArea returns the signing area. tsaHandler (a *tsa.Server) may be
// nil when no TSA key is configured; /tsa is then not served.
func NewSignArea(svc *csc.Service, tsaHandler http.Handler, log *slog.Logger) *SignArea {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &SignArea{svc: svc, tsa: tsaHandler, log: log, MaxDocument: 256 << 20}
}

// Routes registers the signing routes.
func (a *SignArea) Routes(r *Router) {
	signers := Roles(auth.RoleCitizen, auth.RoleAgency)
	if a.tsa != nil {
		r.Handle(http.MethodPost, "/tsa", Public, a.tsa.ServeHTTP, MaxBody(64<<10), RateLimit(LimitTSA))
	}
	r.Handle(http.MethodPost, "/v1/sign/pdf", signers, a.signPDF, MaxBody(a.MaxDocument+1<<20))
	r.Handle(http.MethodPost, "/v1/sign/cms", signers, a.signCMS, MaxBody(a.MaxDocument+1<<20))
	r.Handle(http.MethodPost, "/v1/sign/jws", signers, a.signJWS, MaxBody(8<<20))
	r.Handle(http.MethodPost, "/v1/sign/extend", signers, a.extend, MaxBody(a.MaxDocument+1<<20))
	a.cscRoutes(r, signers)
}

func (a *SignArea) fail(w http.ResponseWriter, r *http.Request, err error) {
	failLogged(a.log, w, r, err)
}

// client identifies the caller's application for the audit log.
func signClient(r *http.Request) string {
	ua := r.UserAgent()
	if len(ua) > 120 {
		ua = ua[:120]
	}
	return fmt.Sprintf("addr=%s ua=%q req=%s", r.RemoteAddr, ua, RequestID(r.Context()))
}

// signForm is the non-file fields of the multipart signing endpoints.
type signForm map[string]string

func (f signForm) bool(k string) bool {
	v := strings.ToLower(f[k])
	return v == "true" || v == "1" || v == "on" || v == "yes"
}

func (f signForm) float(k string, def float64) (float64, error) {
	v := f[k]
	if v == "" {
		return def, nil
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || x < 0 || x > 14400 {
		return 0, problem.Newf(http.StatusBadRequest, "bad-appearance", "%s must be a number of points", k)
	}
	return x, nil
}

// signMultipart streams the form: the "file" part goes to sink, other
// fields (small) into the map.
func signMultipart(r *http.Request, sink func(io.Reader) error) (signForm, error) {
	return signMultipartFiles(r, map[string]func(io.Reader) error{"file": sink})
}

// signMultipartFiles is signMultipart with several file fields: each part
// named in sinks (at most once each) goes to its sink; "file" is required.
func signMultipartFiles(r *http.Request, sinks map[string]func(io.Reader) error) (signForm, error) {
	if err := RequireContentType(r, "multipart/form-data"); err != nil {
		return nil, err
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, problem.Wrap(http.StatusBadRequest, "malformed-body", err)
	}
	form := signForm{}
	got := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, BodyError(err)
		}
		name := part.FormName()
		if sink, ok := sinks[name]; ok {
			if got[name] {
				return nil, problem.Newf(http.StatusBadRequest, "malformed-body", "only one %q part may be sent", name)
			}
			got[name] = true
			if err := sink(part); err != nil {
				return nil, err
			}
			continue
		}
		v, err := io.ReadAll(io.LimitReader(part, 4<<10))
		if err != nil {
			return nil, BodyError(err)
		}
		if len(form) > 32 {
			return nil, problem.New(http.StatusBadRequest, "malformed-body", "too many form fields")
		}
		form[name] = string(v)
	}
	if !got["file"] {
		return nil, problem.New(http.StatusBadRequest, "missing-file", "the multipart field \"file\" is required")
	}
	return form, nil
}

// activate resolves the key from the form or body fields: a citizen's
// credential and PIN, or an agency's seal.
func (a *SignArea) activate(r *http.Request, credentialID, pin, sealID string) (*csc.Activation, error) {
	p := cscPrincipal(r)
	if p == nil {
		return nil, auth.ErrUnauthenticated
	}
	id := credentialID
	if p.Role == auth.RoleAgency {
		if sealID == "" {
			return nil, problem.New(http.StatusBadRequest, "seal-required", "an agency signs with seal_id")
		}
		id, pin = sealID, ""
	} else if id == "" || pin == "" {
		return nil, problem.New(http.StatusBadRequest, "credential-required", "a citizen signs with credential_id and pin")
	}
	return a.svc.Activate(r.Context(), p, id, pin, signClient(r))
}

func (a *SignArea) signPDF(w http.ResponseWriter, r *http.Request) {
	tmp, err := os.CreateTemp(a.TempDir, "kyso-sign-*.pdf")
	if err != nil {
		a.fail(w, r, fmt.Errorf("temp file: %w", err))
		return
	}
	defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	var size int64
	form, err := signMultipart(r, func(part io.Reader) error {
		n, err := io.Copy(tmp, io.LimitReader(part, a.MaxDocument+1))
		if err != nil {
			return BodyError(err)
		}
		if n > a.MaxDocument {
			return problem.Newf(http.StatusRequestEntityTooLarge, "body-too-large", "documents are limited to %d bytes", a.MaxDocument)
		}
		size = n
		return nil
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	level, err := signer.ParseLevel(form["level"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	opts := signer.PDFOptions{Level: level, Reason: form["reason"], Location: form["location"], Certify: form.bool("certify"), Deps: a.svc.Deps()}
	if form.bool("visible") {
		app := &signer.Appearance{Page: 1}
		if v := form["page"]; v != "" {
			if app.Page, err = strconv.Atoi(v); err != nil || app.Page < 1 {
				a.fail(w, r, problem.New(http.StatusBadRequest, "bad-appearance", "page must be a page number from 1"))
				return
			}
		}
		for _, f := range []struct {
			key string
			dst *float64
			def float64
		}{{"x", &app.X, 36}, {"y", &app.Y, 36}, {"width", &app.Width, 220}, {"height", &app.Height, 64}} {
			if *f.dst, err = form.float(f.key, f.def); err != nil {
				a.fail(w, r, err)
				return
			}
		}
		opts.Appearance = app
	}
	act, err := a.activate(r, form["credential_id"], form["pin"], form["seal_id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// The output is assembled in order (original, then the new revisions)
	// only after signing succeeded, so it can stream to the client.
	hw := &headerDeferredWriter{w: w, status: http.StatusOK, contentType: "application/pdf", before: func(h http.Header) { setAuditEntries(h, act) }}
	if err := signer.SignPDF(r.Context(), act.Key, tmp, size, hw, opts); err != nil {
		if !hw.started {
			a.fail(w, r, err)
			return
		}
		a.log.ErrorContext(r.Context(), "writing signed PDF failed", "err", err)
	}
}

// extend brings a signed document to B-LTA (or renews its archive
// time-stamp) with the service's TSA and revocation sources, by its
// detected format (signer.Extend); no key is used. The optional "content"
// part is the signed content of a detached signature.
func (a *SignArea) extend(w http.ResponseWriter, r *http.Request) {
	var doc, content []byte
	read := func(dst *[]byte) func(io.Reader) error {
		return func(part io.Reader) error {
			b, err := io.ReadAll(io.LimitReader(part, a.MaxDocument+1))
			if err != nil {
				return BodyError(err)
			}
			if int64(len(b)) > a.MaxDocument {
				return problem.Newf(http.StatusRequestEntityTooLarge, "body-too-large", "documents are limited to %d bytes", a.MaxDocument)
			}
			*dst = b
			return nil
		}
	}
	_, err := signMultipartFiles(r, map[string]func(io.Reader) error{"file": read(&doc), "content": read(&content)})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out, mediaType, err := signer.Extend(r.Context(), doc, content, a.svc.Deps())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", mediaType)
	_, _ = w.Write(out)
}

// headerDeferredWriter writes the status line on the first byte, so a
// failure before any output can still become a problem document.
type headerDeferredWriter struct {
	w           http.ResponseWriter
	status      int
	contentType string
	started     bool
	// before, when set, adds headers known only once the output starts.
	before func(http.Header)
}

// setAuditEntries names the audit log entries of the signatures made with
// act in the Kyso-Audit-Entry header (comma-separated).
func setAuditEntries(h http.Header, act *csc.Activation) {
	if ids := act.AuditEntries(); len(ids) > 0 {
		h.Set(ReceiptHeader, strings.Join(ids, ", "))
	}
}

func (h *headerDeferredWriter) Write(p []byte) (int, error) {
	if !h.started {
		h.started = true
		if h.before != nil {
			h.before(h.w.Header())
		}
		h.w.Header().Set("Content-Type", h.contentType)
		h.w.WriteHeader(h.status)
	}
	return h.w.Write(p)
}

func (a *SignArea) signCMS(w http.ResponseWriter, r *http.Request) {
	var digest []byte
	form, err := signMultipart(r, func(part io.Reader) error {
		d, err := signerDigest(part, a.MaxDocument)
		digest = d
		return err
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	level, err := signer.ParseLevel(form["level"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	act, err := a.activate(r, form["credential_id"], form["pin"], form["seal_id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	p7s, err := signer.SignDigestCMS(r.Context(), act.Key, digest, signer.CMSOptions{Level: level, Deps: a.svc.Deps()})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pkcs7-signature")
	w.Header().Set("Content-Disposition", `attachment; filename="signature.p7s"`)
	setAuditEntries(w.Header(), act)
	_, _ = w.Write(p7s)
}

// jwsRequest is the body of POST /v1/sign/jws.
type jwsRequest struct {
	Payload       json.RawMessage `json:"payload"`
	CredentialID  string          `json:"credential_id"`
	PIN           string          `json:"pin"`
	SealID        string          `json:"seal_id"`
	Serialization string          `json:"serialization"`
	Level         string          `json:"level"`
}

func (a *SignArea) signJWS(w http.ResponseWriter, r *http.Request) {
	var req jwsRequest
	if err := DecodeJSON(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if len(req.Payload) == 0 {
		a.fail(w, r, problem.New(http.StatusBadRequest, "missing-payload", "payload is required"))
		return
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, req.Payload); err != nil {
		a.fail(w, r, problem.New(http.StatusBadRequest, "malformed-body", "payload must be JSON"))
		return
	}
	level, err := signer.ParseLevel(req.Level)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	act, err := a.activate(r, req.CredentialID, req.PIN, req.SealID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out, ctype, err := signer.SignJWS(r.Context(), act.Key, compact.Bytes(), signer.JWSOptions{Serialization: req.Serialization, Level: level, Deps: a.svc.Deps()})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ctype)
	setAuditEntries(w.Header(), act)
	_, _ = w.Write(out)
}
