package api

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"

	"kyso/problem"
	"kyso/verifier"
	"kyso/verifier/report"
	"kyso/web"
)

// VerifyArea serves signature verification: POST /v1/verify (JSON report)
// and the clerk's page at /verify. Both are public.
type VerifyArea struct {
	v    *verifier.Verifier
	log  *slog.Logger
	page *template.Template
	// MaxDocument bounds uploaded documents (default verifier.MaxInput).
	MaxDocument int64
	// slots bounds concurrent verifications, and so the memory held by
	// uploaded documents.
	slots chan struct{}
}

// verifySlots is the default number of concurrent verifications.
const verifySlots = 8

// NewVerifyArea returns the verification area.
func NewVerifyArea(v *verifier.Verifier, log *slog.Logger) (*VerifyArea, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t, err := report.HTMLTemplate()
	if err != nil {
		return nil, fmt.Errorf("verify page: %w", err)
	}
	if t, err = t.ParseFS(web.Verify, "verify/*.html"); err != nil {
		return nil, fmt.Errorf("verify page: %w", err)
	}
	return &VerifyArea{v: v, log: log, page: t, MaxDocument: verifier.MaxInput, slots: make(chan struct{}, verifySlots)}, nil
}

// Routes registers the verification routes.
func (a *VerifyArea) Routes(r *Router) {
	limit := MaxBody(a.MaxDocument + 1<<20)
	r.Handle(http.MethodPost, "/v1/verify", Public, a.verify, limit, RateLimit(LimitVerify))
	r.Handle(http.MethodGet, "/verify", Public, a.showPage)
	r.Handle(http.MethodPost, "/verify", Public, a.submitPage, limit, RateLimit(LimitVerify))
}

// readVerifyInput decodes a raw document body (application/pdf,
// application/pkcs7-signature, application/jose for a compact JWS,
// application/jose+json for the JSON serializations) or a multipart form
// with field "file" and, for detached CMS/JWS, "detached". The format is
// detected from the content, not the media type.
func (a *VerifyArea) readVerifyInput(r *http.Request) (verifier.Input, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return verifier.Input{}, problem.New(http.StatusUnsupportedMediaType, "unsupported-media-type", "send application/pdf, application/pkcs7-signature, application/jose, application/jose+json or multipart/form-data")
	}
	switch mt {
	case "application/pdf", "application/pkcs7-signature", "application/pkcs7-mime", "application/jose", "application/jose+json", "application/octet-stream":
		b, err := a.readAll(r.Body)
		if err != nil {
			return verifier.Input{}, err
		}
		return verifier.Input{Data: b}, nil
	case "multipart/form-data":
		mr := multipart.NewReader(r.Body, params["boundary"])
		var in verifier.Input
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return verifier.Input{}, BodyError(err)
			}
			switch part.FormName() {
			case "file":
				if in.Data, err = a.readAll(part); err != nil {
					return verifier.Input{}, err
				}
				in.Name = part.FileName()
			case "detached":
				if in.Detached, err = a.readAll(part); err != nil {
					return verifier.Input{}, err
				}
				if len(in.Detached) == 0 {
					in.Detached = nil
				}
			}
			part.Close()
		}
		if in.Data == nil {
			return verifier.Input{}, problem.New(http.StatusBadRequest, "missing-file", "the form has no field \"file\"")
		}
		return in, nil
	}
	return verifier.Input{}, problem.Newf(http.StatusUnsupportedMediaType, "unsupported-media-type", "%s is not accepted; send a PDF, CMS, JWS or a multipart form", mt)
}

func (a *VerifyArea) readAll(rd io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(rd, a.MaxDocument+1))
	if err != nil {
		return nil, BodyError(err)
	}
	if int64(len(b)) > a.MaxDocument {
		return nil, problem.Newf(http.StatusRequestEntityTooLarge, "body-too-large", "the document is larger than %d bytes", a.MaxDocument)
	}
	return b, nil
}

func (a *VerifyArea) run(r *http.Request) (*report.Report, error) {
	select {
	case a.slots <- struct{}{}:
		defer func() { <-a.slots }()
	case <-r.Context().Done():
		return nil, problem.New(http.StatusServiceUnavailable, "busy", "too many verifications in progress; try again")
	}
	in, err := a.readVerifyInput(r)
	if err != nil {
		return nil, err
	}
	rep, err := a.v.Verify(r.Context(), in)
	if errors.Is(err, verifier.ErrUnreadable) {
		return nil, problem.Wrap(http.StatusUnprocessableEntity, "unreadable-document", err)
	}
	if err != nil {
		return nil, err
	}
	a.log.InfoContext(r.Context(), "document verified", "request_id", RequestID(r.Context()), "format", rep.Document.Format, "sha256", rep.Document.SHA256, "indication", rep.Status.MainIndication, "sub_indication", rep.Status.SubIndication)
	return rep, nil
}

// verify handles POST /v1/verify.
func (a *VerifyArea) verify(w http.ResponseWriter, r *http.Request) {
	rep, err := a.run(r)
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, rep)
}

type verifyPage struct {
	Action string
	Report *report.Report
	Error  string
}

func (a *VerifyArea) render(w http.ResponseWriter, status int, p verifyPage) {
	htmlPage(w, a.log, a.page, "verify-page", p, status,
		"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action 'self'")
}

// showPage handles GET /verify: the upload form.
func (a *VerifyArea) showPage(w http.ResponseWriter, r *http.Request) {
	a.render(w, http.StatusOK, verifyPage{Action: "/verify"})
}

// submitPage handles POST /verify: verify the upload and show the report.
func (a *VerifyArea) submitPage(w http.ResponseWriter, r *http.Request) {
	rep, err := a.run(r)
	if err != nil {
		status, msg := http.StatusInternalServerError, "The document could not be verified."
		if p, ok := problem.As(err); ok && p.Status < 500 {
			status, msg = p.Status, "The document could not be read: "+p.Detail
		}
		a.render(w, status, verifyPage{Action: "/verify", Error: msg})
		return
	}
	a.render(w, http.StatusOK, verifyPage{Action: "/verify", Report: rep})
}
