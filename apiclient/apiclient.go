// Package apiclient is the Go client of Kyso's own HTTP API, shared by the
// command line (remote signing), the demo walk-through, the load tests and
// the replica fault test. Errors the server answers with a problem document
// (RFC 9457) come back as *ProblemError; every answer is read with a bound.
package apiclient

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strings"
	"time"
)

// MaxResponse bounds what the client reads of one answer (a signed PDF).
const MaxResponse = 64 << 20

// Client calls one Kyso server (or a load balancer in front of several).
type Client struct {
	// Base is the server's base URL, e.g. http://127.0.0.1:8080.
	Base string
	// HTTP is the client used; one with a 2-minute timeout when nil.
	HTTP *http.Client
}

// New returns a client of base with hc (nil for the default).
func New(base string, hc *http.Client) *Client {
	return &Client{Base: base, HTTP: hc}
}

var defaultHTTP = &http.Client{Timeout: 2 * time.Minute}

// ProblemError is an answer with an unexpected status; Code and Detail
// come from its problem document when there is one.
type ProblemError struct {
	Method, Path string
	Status       int
	Code         string
	Detail       string
	// Members holds every member of the problem document (RFC 9457
	// extension members included), nil when the answer was not one.
	Members map[string]any
}

func (e *ProblemError) Error() string {
	s := fmt.Sprintf("%s %s: HTTP %d", e.Method, e.Path, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Code returns the problem code of err when it is a *ProblemError.
func Code(err error) string {
	var pe *ProblemError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// Member returns the string member name of err's problem document when
// err is a *ProblemError that has one (the serial of a certificate the
// citizen already holds, for instance).
func Member(err error, name string) string {
	var pe *ProblemError
	if errors.As(err, &pe) {
		if v, ok := pe.Members[name].(string); ok {
			return v
		}
	}
	return ""
}

// Request is one call.
type Request struct {
	Method, Path string
	// Token is the bearer (API token or identity assertion); "" for none.
	Token       string
	ContentType string
	Body        io.Reader
}

// Do sends r and returns the answer's body when its status is want.
func (c *Client) Do(ctx context.Context, r Request, want int) ([]byte, error) {
	b, _, err := c.DoHeader(ctx, r, want)
	return b, err
}

// DoHeader is Do that also returns the answer's header.
func (c *Client) DoHeader(ctx context.Context, r Request, want int) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, r.Method, strings.TrimRight(c.Base, "/")+r.Path, r.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", r.Method, r.Path, err)
	}
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", r.Method, r.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponse+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: read answer: %w", r.Method, r.Path, err)
	}
	if len(b) > MaxResponse {
		return nil, nil, fmt.Errorf("%s %s: answer larger than %d bytes", r.Method, r.Path, MaxResponse)
	}
	if resp.StatusCode != want {
		pe := &ProblemError{Method: r.Method, Path: r.Path, Status: resp.StatusCode}
		var p struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
		}
		if json.Unmarshal(b, &p) == nil && p.Code != "" {
			pe.Code, pe.Detail = p.Code, p.Detail
			_ = json.Unmarshal(b, &pe.Members)
		} else {
			pe.Detail = strings.TrimSpace(string(b))
			if len(pe.Detail) > 200 {
				pe.Detail = pe.Detail[:200]
			}
		}
		return nil, nil, pe
	}
	return b, resp.Header, nil
}

// JSON sends in as JSON (no body when nil) and decodes the answer into out
// (ignored when nil).
func (c *Client) JSON(ctx context.Context, method, path, token string, in any, want int, out any) error {
	r := Request{Method: method, Path: path, Token: token}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		r.Body, r.ContentType = bytes.NewReader(b), "application/json"
	}
	b, err := c.Do(ctx, r, want)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// Ready returns nil when GET /readyz answers 200.
func (c *Client) Ready(ctx context.Context) error {
	_, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/readyz"}, http.StatusOK)
	return err
}

// Challenge is a nonce for the card's Active Authentication.
type Challenge struct {
	ID    string
	Nonce []byte
}

// NewChallenge asks for an identity challenge.
func (c *Client) NewChallenge(ctx context.Context) (Challenge, error) {
	var ch struct {
		ID    string `json:"challenge_id"`
		Nonce string `json:"nonce"`
	}
	if err := c.JSON(ctx, http.MethodPost, "/v1/identity/challenges", "", nil, http.StatusCreated, &ch); err != nil {
		return Challenge{}, err
	}
	nonce, err := base64.StdEncoding.DecodeString(ch.Nonce)
	if err != nil {
		if nonce, err = base64.RawURLEncoding.DecodeString(ch.Nonce); err != nil {
			return Challenge{}, fmt.Errorf("challenge nonce: %w", err)
		}
	}
	return Challenge{ID: ch.ID, Nonce: nonce}, nil
}

// Card is what a phone reads from the chip: the data groups, the SOD and
// the Active Authentication answer to a challenge.
type Card struct {
	SOD, DG1, DG13, DG14, DG15 []byte
	AASignature                []byte
}

// VerifyIdentity sends the card's answer to challenge and returns the
// identity assertion.
func (c *Client) VerifyIdentity(ctx context.Context, challengeID string, card Card) (string, error) {
	enc := base64.StdEncoding.EncodeToString
	req := map[string]string{"challenge_id": challengeID, "aa_signature": enc(card.AASignature),
		"sod": enc(card.SOD), "dg1": enc(card.DG1), "dg13": enc(card.DG13), "dg15": enc(card.DG15)}
	if card.DG14 != nil {
		req["dg14"] = enc(card.DG14)
	}
	var v struct {
		Assertion string `json:"assertion"`
	}
	if err := c.JSON(ctx, http.MethodPost, "/v1/identity/verifications", "", req, http.StatusCreated, &v); err != nil {
		return "", err
	}
	if v.Assertion == "" {
		return "", errors.New("identity verification: no assertion in the answer")
	}
	return v.Assertion, nil
}

// Enrolled is a certificate the server issued.
type Enrolled struct {
	Serial       string `json:"serial"`
	CredentialID string `json:"credential_id"`
	Issuer       string `json:"issuer"`
	NotAfter     string `json:"not_after"`
	Certificate  string `json:"certificate"`
}

// Enroll asks for a citizen certificate for csrPEM with a (single-use)
// identity assertion.
func (c *Client) Enroll(ctx context.Context, assertion, csrPEM string) (Enrolled, error) {
	var out Enrolled
	if err := c.JSON(ctx, http.MethodPost, "/v1/certificates", assertion, map[string]string{"csr": csrPEM}, http.StatusCreated, &out); err != nil {
		return out, err
	}
	if out.Serial == "" {
		return out, errors.New("enroll: no serial in the answer")
	}
	return out, nil
}

// EnrollRemote asks for a citizen certificate with a key kept in the HSM,
// protected by pin. A citizen who already has one gets a *ProblemError
// with code "credential-exists".
func (c *Client) EnrollRemote(ctx context.Context, assertion, pin string) (Enrolled, error) {
	var out Enrolled
	if err := c.JSON(ctx, http.MethodPost, "/v1/certificates", assertion, map[string]string{"key": "remote", "pin": pin}, http.StatusCreated, &out); err != nil {
		return out, err
	}
	if out.CredentialID == "" {
		return out, errors.New("enroll: no credential_id in the answer")
	}
	return out, nil
}

// Credentials lists the signing credentials the token may use (an agency's
// seals, a citizen's credentials).
func (c *Client) Credentials(ctx context.Context, token string) ([]string, error) {
	var out struct {
		CredentialIDs []string `json:"credentialIDs"`
	}
	if err := c.JSON(ctx, http.MethodPost, "/csc/v2/credentials/list", token, map[string]any{"onlyValid": true}, http.StatusOK, &out); err != nil {
		return nil, err
	}
	return out.CredentialIDs, nil
}

// Signer is who signs and with which key: an agency token with a seal, or
// a citizen's identity assertion with a credential and its PIN.
type Signer struct {
	Token        string
	SealID       string
	CredentialID string
	PIN          string
}

// SignFile signs a document with POST /v1/sign/{kind} (kind "pdf" or
// "cms"): the file streams from r as a multipart upload with the fields
// (level, reason, visible, …; empty values are left out).
func (c *Client) SignFile(ctx context.Context, kind string, s Signer, fields map[string]string, name string, r io.Reader) ([]byte, error) {
	b, _, err := c.SignFileEntries(ctx, kind, s, fields, name, r)
	return b, err
}

// AuditHeader names the audit log entries of an answer's signatures
// (comma-separated).
const AuditHeader = "Kyso-Audit-Entry"

// AuditEntries returns the audit log entry ids an answer's header names.
func AuditEntries(h http.Header) []string {
	var ids []string
	for _, v := range h.Values(AuditHeader) {
		for _, id := range strings.Split(v, ",") {
			if id = strings.TrimSpace(id); id != "" {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// SignFileEntries is SignFile that also returns the ids of the audit log
// entries of the signatures made (the Kyso-Audit-Entry header).
func (c *Client) SignFileEntries(ctx context.Context, kind string, s Signer, fields map[string]string, name string, r io.Reader) ([]byte, []string, error) {
	if kind != "pdf" && kind != "cms" {
		return nil, nil, fmt.Errorf("sign: unknown kind %q", kind)
	}
	all := map[string]string{"credential_id": s.CredentialID, "pin": s.PIN, "seal_id": s.SealID}
	for k, v := range fields {
		all[k] = v
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			for k, v := range all {
				if v == "" {
					continue
				}
				if err := mw.WriteField(k, v); err != nil {
					return err
				}
			}
			fw, err := mw.CreateFormFile("file", filepath.Base(name))
			if err != nil {
				return err
			}
			if _, err := io.Copy(fw, r); err != nil {
				return err
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	defer pr.Close()
	b, h, err := c.DoHeader(ctx, Request{Method: http.MethodPost, Path: "/v1/sign/" + kind, Token: s.Token, ContentType: mw.FormDataContentType(), Body: pr}, http.StatusOK)
	if err != nil {
		return nil, nil, err
	}
	return b, AuditEntries(h), nil
}

// ExtendPDF asks the server to bring a signed PDF to PAdES-BASELINE-LTA
// (POST /v1/sign/extend) and returns the extended document.
func (c *Client) ExtendPDF(ctx context.Context, token, name string, r io.Reader) ([]byte, error) {
	return c.Extend(ctx, token, name, r, nil)
}

// Extend asks the server to bring a signed document (a PDF or a CAdES
// signature) to B-LTA or renew its archive time-stamp (POST
// /v1/sign/extend) and returns the extended document. content, when not
// nil, is the signed content of a detached signature.
func (c *Client) Extend(ctx context.Context, token, name string, r, content io.Reader) ([]byte, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			fw, err := mw.CreateFormFile("file", filepath.Base(name))
			if err != nil {
				return err
			}
			if _, err := io.Copy(fw, r); err != nil {
				return err
			}
			if content != nil {
				cw, err := mw.CreateFormFile("content", "content")
				if err != nil {
					return err
				}
				if _, err := io.Copy(cw, content); err != nil {
					return err
				}
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	defer pr.Close()
	return c.Do(ctx, Request{Method: http.MethodPost, Path: "/v1/sign/extend", Token: token, ContentType: mw.FormDataContentType(), Body: pr}, http.StatusOK)
}

// SignPDF signs pdf at level and returns the signed document.
func (c *Client) SignPDF(ctx context.Context, s Signer, level string, pdf []byte) ([]byte, error) {
	out, err := c.SignFile(ctx, "pdf", s, map[string]string{"level": level}, "document.pdf", bytes.NewReader(pdf))
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(out, []byte("%PDF-")) {
		return nil, errors.New("sign: the answer is not a PDF")
	}
	return out, nil
}

// JWSRequest is a JSON document to sign as a JWS.
type JWSRequest struct {
	Payload       json.RawMessage
	Serialization string
	Level         string
}

// SignJWS signs a JSON payload with POST /v1/sign/jws and returns the JWS.
func (c *Client) SignJWS(ctx context.Context, s Signer, r JWSRequest) ([]byte, error) {
	body := map[string]any{"payload": r.Payload, "credential_id": s.CredentialID, "pin": s.PIN, "seal_id": s.SealID,
		"serialization": r.Serialization, "level": r.Level}
	for _, k := range []string{"credential_id", "pin", "seal_id", "serialization", "level"} {
		if body[k] == "" {
			delete(body, k)
		}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("sign jws: %w", err)
	}
	return c.Do(ctx, Request{Method: http.MethodPost, Path: "/v1/sign/jws", Token: s.Token, ContentType: "application/json", Body: bytes.NewReader(b)}, http.StatusOK)
}

// Indication is the verdict of a validation report.
type Indication struct {
	Main string `json:"MainIndication"`
	Sub  string `json:"SubIndication"`
}

func (i Indication) String() string { return strings.TrimSpace(i.Main + " " + i.Sub) }

// Verify validates a document with POST /v1/verify and returns the report
// (JSON) and its verdict.
func (c *Client) Verify(ctx context.Context, contentType string, doc []byte) ([]byte, Indication, error) {
	b, err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/v1/verify", ContentType: contentType, Body: bytes.NewReader(doc)}, http.StatusOK)
	if err != nil {
		return nil, Indication{}, err
	}
	var rep struct {
		Status Indication `json:"ValidationStatus"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, Indication{}, fmt.Errorf("verify: decode report: %w", err)
	}
	if rep.Status.Main == "" {
		return nil, Indication{}, errors.New("verify: the report has no indication")
	}
	return b, rep.Status, nil
}

// Revoke revokes the certificate serial (reason: an RFC 5280 reason name,
// "" for unspecified) with the owner's or an officer's token.
func (c *Client) Revoke(ctx context.Context, token, serial, reason string) error {
	return c.JSON(ctx, http.MethodPost, "/v1/certificates/"+serial+"/revoke", token, map[string]string{"reason": reason}, http.StatusOK, nil)
}

// SignHash signs SHA-256 hashes with a credential through the Cloud
// Signature Consortium API: credentials/authorize with the PIN for a SAD,
// then signatures/signHash with signAlgo (an OID). It returns the
// signatures and the ids of their audit log entries.
func (c *Client) SignHash(ctx context.Context, s Signer, signAlgo string, hashes [][]byte) (sigs, auditEntries []string, err error) {
	const sha256OID = "2.16.840.1.101.3.4.2.1"
	b64 := make([]string, len(hashes))
	for i, h := range hashes {
		b64[i] = base64.StdEncoding.EncodeToString(h)
	}
	var auth struct {
		SAD string `json:"SAD"`
	}
	if err := c.JSON(ctx, http.MethodPost, "/csc/v2/credentials/authorize", s.Token, map[string]any{"credentialID": s.CredentialID,
		"numSignatures": len(hashes), "hashes": b64, "hashAlgorithmOID": sha256OID, "PIN": s.PIN}, http.StatusOK, &auth); err != nil {
		return nil, nil, err
	}
	if auth.SAD == "" {
		return nil, nil, errors.New("csc authorize: no SAD in the answer")
	}
	var out struct {
		Signatures   []string `json:"signatures"`
		AuditEntries []string `json:"audit_entries"`
	}
	if err := c.JSON(ctx, http.MethodPost, "/csc/v2/signatures/signHash", s.Token, map[string]any{"credentialID": s.CredentialID,
		"SAD": auth.SAD, "hashes": b64, "hashAlgorithmOID": sha256OID, "signAlgo": signAlgo}, http.StatusOK, &out); err != nil {
		return nil, nil, err
	}
	if len(out.Signatures) != len(hashes) {
		return nil, nil, fmt.Errorf("csc signHash: %d signatures for %d hashes", len(out.Signatures), len(hashes))
	}
	return out.Signatures, out.AuditEntries, nil
}
