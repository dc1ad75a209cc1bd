package scenario

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net/http"

	"kyso/apiclient"
	certstest "kyso/certs-test"
)

// Client calls the server's HTTP API through kyso/apiclient, with the
// load test's synthetic-card helpers.
type Client struct {
	// Base is the server's base URL, e.g. http://127.0.0.1:8091.
	Base string
	HTTP *http.Client
}

// StatusError is an answer with an unexpected status.
type StatusError = apiclient.ProblemError

// Signer is who signs and with which key.
type Signer = apiclient.Signer

func (c *Client) api() *apiclient.Client { return apiclient.New(c.Base, c.HTTP) }

// Ready reports whether GET /readyz answers 200.
func (c *Client) Ready(ctx context.Context) error { return c.api().Ready(ctx) }

// VerifyChip proves a citizen's identity with a synthetic card: it asks
// for a challenge, lets the chip answer it (Active Authentication) and
// sends the card's files. It returns the identity assertion.
func (c *Client) VerifyChip(ctx context.Context, chip *certstest.Chip) (string, error) {
	return VerifyChip(ctx, c.api(), chip)
}

// VerifyChip is Client.VerifyChip for any API client.
func VerifyChip(ctx context.Context, api *apiclient.Client, chip *certstest.Chip) (string, error) {
	ch, err := api.NewChallenge(ctx)
	if err != nil {
		return "", err
	}
	sig, err := chip.Answer(ch.Nonce)
	if err != nil {
		return "", fmt.Errorf("chip answer: %w", err)
	}
	return api.VerifyIdentity(ctx, ch.ID, apiclient.Card{SOD: chip.SOD, DG1: chip.DG1, DG13: chip.DG13, DG14: chip.DG14,
		DG15: chip.DG15, AASignature: sig})
}

// Enroll asks for a citizen certificate for csrPEM with a (single-use)
// identity assertion and returns its serial.
func (c *Client) Enroll(ctx context.Context, assertion, csrPEM string) (string, error) {
	e, err := c.api().Enroll(ctx, assertion, csrPEM)
	return e.Serial, err
}

// EnrollRemote asks for a citizen certificate with a key kept in the HSM,
// protected by pin, and returns the credential ID. When the citizen
// already has one it returns that one (the assertion is then unused).
func (c *Client) EnrollRemote(ctx context.Context, assertion, pin string) (string, error) {
	return EnrollRemote(ctx, c.api(), assertion, pin)
}

// EnrollRemote is Client.EnrollRemote for any API client.
func EnrollRemote(ctx context.Context, api *apiclient.Client, assertion, pin string) (string, error) {
	e, err := api.EnrollRemote(ctx, assertion, pin)
	if apiclient.Code(err) == "credential-exists" {
		ids, lerr := api.Credentials(ctx, assertion)
		if lerr != nil {
			return "", lerr
		}
		if len(ids) == 0 {
			return "", fmt.Errorf("enroll: %w, but none is listed", err)
		}
		return ids[0], nil
	}
	return e.CredentialID, err
}

// Seals lists the signing credentials the token may use (an agency's
// seals, a citizen's credentials).
func (c *Client) Seals(ctx context.Context, token string) ([]string, error) {
	return c.api().Credentials(ctx, token)
}

// SignPDF signs pdf at level (B-B, B-T, …) and returns the signed
// document.
func (c *Client) SignPDF(ctx context.Context, s Signer, level string, pdf []byte) ([]byte, error) {
	return c.api().SignPDF(ctx, s, level, pdf)
}

// Verify validates a PDF with POST /v1/verify and returns the main
// indication (TOTAL-PASSED, INDETERMINATE, TOTAL-FAILED) and its
// sub-indication.
func (c *Client) Verify(ctx context.Context, pdf []byte) (string, error) {
	_, ind, err := c.api().Verify(ctx, "application/pdf", pdf)
	if err != nil {
		return "", err
	}
	return ind.String(), nil
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
