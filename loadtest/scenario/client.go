package scenario

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"

	certstest "kyso/certs-test"
)

// maxResponse bounds what the client reads of one answer (a signed PDF).
const maxResponse = 64 << 20

// Client calls the server's HTTP API.
type Client struct {
	// Base is the server's base URL, e.g. http://127.0.0.1:8091.
	Base string
	HTTP *http.Client
}

// StatusError is an answer with an unexpected status; Code is the problem
// document's code when there is one.
type StatusError struct {
	Method, Path string
	Status       int
	Code         string
	Detail       string
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s %s: HTTP %d", e.Method, e.Path, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// do sends body (nil for none) with the content type and bearer token
// ("" for none) and returns the answer's body when the status is want.
func (c *Client) do(ctx context.Context, method, path, token, ctype string, body []byte, want int) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.Base, "/")+path, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if len(b) > maxResponse {
		return nil, fmt.Errorf("%s %s: answer larger than %d bytes", method, path, maxResponse)
	}
	if resp.StatusCode != want {
		se := &StatusError{Method: method, Path: path, Status: resp.StatusCode}
		var p struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
		}
		if json.Unmarshal(b, &p) == nil {
			se.Code, se.Detail = p.Code, p.Detail
		}
		return nil, se
	}
	return b, nil
}

func (c *Client) json(ctx context.Context, path, token string, in any, want int, out any) error {
	var body []byte
	ctype := ""
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
		ctype = "application/json"
	}
	b, err := c.do(ctx, http.MethodPost, path, token, ctype, body, want)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("POST %s: decode answer: %w", path, err)
	}
	return nil
}

// Ready reports whether GET /readyz answers 200.
func (c *Client) Ready(ctx context.Context) error {
	_, err := c.do(ctx, http.MethodGet, "/readyz", "", "", nil, http.StatusOK)
	return err
}

// VerifyChip proves a citizen's identity with a synthetic card: it asks
// for a challenge, lets the chip answer it (Active Authentication) and
// sends the card's files. It returns the identity assertion.
func (c *Client) VerifyChip(ctx context.Context, chip *certstest.Chip) (string, error) {
	var ch struct {
		ChallengeID string `json:"challenge_id"`
		Nonce       string `json:"nonce"`
	}
	if err := c.json(ctx, "/v1/identity/challenges", "", nil, http.StatusCreated, &ch); err != nil {
		return "", err
	}
	nonce, err := base64.StdEncoding.DecodeString(ch.Nonce)
	if err != nil {
		if nonce, err = base64.RawURLEncoding.DecodeString(ch.Nonce); err != nil {
			return "", fmt.Errorf("challenge nonce: %w", err)
		}
	}
	sig, err := chip.Answer(nonce)
	if err != nil {
		return "", fmt.Errorf("chip answer: %w", err)
	}
	enc := base64.StdEncoding.EncodeToString
	req := map[string]string{"challenge_id": ch.ChallengeID, "aa_signature": enc(sig),
		"sod": enc(chip.SOD), "dg1": enc(chip.DG1), "dg13": enc(chip.DG13), "dg15": enc(chip.DG15)}
	if chip.DG14 != nil {
		req["dg14"] = enc(chip.DG14)
	}
	var v struct {
		Assertion string `json:"assertion"`
	}
	if err := c.json(ctx, "/v1/identity/verifications", "", req, http.StatusCreated, &v); err != nil {
		return "", err
	}
	if v.Assertion == "" {
		return "", errors.New("identity verification: no assertion in the answer")
	}
	return v.Assertion, nil
}

// Enroll asks for a citizen certificate for csrPEM with a (single-use)
// identity assertion and returns its serial.
func (c *Client) Enroll(ctx context.Context, assertion, csrPEM string) (string, error) {
	var out struct {
		Serial string `json:"serial"`
	}
	if err := c.json(ctx, "/v1/certificates", assertion, map[string]string{"csr": csrPEM}, http.StatusCreated, &out); err != nil {
		return "", err
	}
	if out.Serial == "" {
		return "", errors.New("enroll: no serial in the answer")
	}
	return out.Serial, nil
}

// EnrollRemote asks for a citizen certificate with a key kept in the HSM,
// protected by pin, and returns the credential ID. When the citizen
// already has one it returns that one (the assertion is then unused).
func (c *Client) EnrollRemote(ctx context.Context, assertion, pin string) (string, error) {
	var out struct {
		CredentialID string `json:"credential_id"`
	}
	err := c.json(ctx, "/v1/certificates", assertion, map[string]string{"key": "remote", "pin": pin}, http.StatusCreated, &out)
	var se *StatusError
	if errors.As(err, &se) && se.Code == "credential-exists" {
		ids, lerr := c.Seals(ctx, assertion)
		if lerr != nil {
			return "", lerr
		}
		if len(ids) == 0 {
			return "", fmt.Errorf("enroll: %w, but none is listed", err)
		}
		return ids[0], nil
	}
	if err != nil {
		return "", err
	}
	if out.CredentialID == "" {
		return "", errors.New("enroll: no credential_id in the answer")
	}
	return out.CredentialID, nil
}

// Seals lists the signing credentials the token may use (an agency's
// seals, a citizen's credentials).
func (c *Client) Seals(ctx context.Context, token string) ([]string, error) {
	var out struct {
		CredentialIDs []string `json:"credentialIDs"`
	}
	if err := c.json(ctx, "/csc/v2/credentials/list", token, map[string]any{}, http.StatusOK, &out); err != nil {
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

// SignPDF signs pdf at level (B-B, B-T, …) and returns the signed
// document.
func (c *Client) SignPDF(ctx context.Context, s Signer, level string, pdf []byte) ([]byte, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fields := [][2]string{{"level", level}}
	if s.SealID != "" {
		fields = append(fields, [2]string{"seal_id", s.SealID})
	} else {
		fields = append(fields, [2]string{"credential_id", s.CredentialID}, [2]string{"pin", s.PIN})
	}
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return nil, err
		}
	}
	fw, err := mw.CreateFormFile("file", "document.pdf")
	if err != nil {
		return nil, err
	}
	if _, err := fw.Write(pdf); err != nil {
		return nil, err
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	out, err := c.do(ctx, http.MethodPost, "/v1/sign/pdf", s.Token, mw.FormDataContentType(), body.Bytes(), http.StatusOK)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(out, []byte("%PDF-")) {
		return nil, errors.New("sign: the answer is not a PDF")
	}
	return out, nil
}

// Verify validates a PDF with POST /v1/verify and returns the main
// indication (TOTAL-PASSED, INDETERMINATE, TOTAL-FAILED).
func (c *Client) Verify(ctx context.Context, pdf []byte) (string, error) {
	b, err := c.do(ctx, http.MethodPost, "/v1/verify", "", "application/pdf", pdf, http.StatusOK)
	if err != nil {
		return "", err
	}
	var rep struct {
		Status struct {
			MainIndication string `json:"MainIndication"`
			SubIndication  string `json:"SubIndication"`
		} `json:"ValidationStatus"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return "", fmt.Errorf("verify: decode report: %w", err)
	}
	if rep.Status.MainIndication == "" {
		return "", errors.New("verify: the report has no indication")
	}
	return strings.TrimSpace(rep.Status.MainIndication + " " + rep.Status.SubIndication), nil
}

// NewCSR makes a P-256 key and a certificate request for it (PEM). The
// server takes the subject from the identity assertion, not the request.
func NewCSR() (string, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "bench"}}, k)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})), nil
}

// NewCitizens makes n synthetic cards with the 12-digit IDs 0010990xxxxx
// from first on, sharing the test CSCA of issuerSeed (the server must
// trust it).
func NewCitizens(n int, issuerSeed string, first int) ([]*certstest.Chip, error) {
	chips := make([]*certstest.Chip, 0, n)
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("0010990%05d", (first+i)%100000)
		chip, err := certstest.NewChip(certstest.ChipOptions{ID: id, Name: "Nguyễn Văn Tải", BirthDate: "1991-03-04", Sex: "M",
			Alg: "p256", Seed: "kyso-bench-" + id, IssuerSeed: issuerSeed})
		if err != nil {
			return nil, fmt.Errorf("synthetic card %s: %w", id, err)
		}
		chips = append(chips, chip)
	}
	return chips, nil
}
