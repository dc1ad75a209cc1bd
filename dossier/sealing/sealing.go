// Package sealing is the production dossier.Sealer: it takes the agency's
// active seal credential and HSM key from the CA (ca.CA.Seal) and seals
// e-results with kyso/signer at PAdES B-LT (certification signature,
// signature time-stamp, /DSS) or B-LTA, and digests of digitized inputs
// with the same key.
package sealing

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"

	"kyso/credential"
	"kyso/dossier"
	"kyso/problem"
	"kyso/signer"
)

// SealSource gives an agency's seal credential and key (*ca.CA).
type SealSource interface {
	Seal(ctx context.Context, agencyCode string) (*credential.Credential, crypto.Signer, error)
}

// Sealer implements dossier.Sealer.
type Sealer struct {
	src  SealSource
	deps signer.Deps
	// Level is the PAdES level of sealed results (B-LT unless set to
	// B-LTA); the Deps must provide a Stamper and revocation data.
	Level signer.Level
	// Reason and Location go in the signature dictionary.
	Reason, Location string
}

// New returns a Sealer sealing at B-LT.
func New(src SealSource, deps signer.Deps) *Sealer {
	return &Sealer{src: src, deps: deps, Level: signer.BLT,
		Reason: "Kết quả giải quyết thủ tục hành chính", Location: "Việt Nam"}
}

// ErrNoSeal is returned when the agency has no active seal.
var ErrNoSeal = problem.New(http.StatusConflict, "no-agency-seal", "the agency has no active seal; an officer must issue one")

func (s *Sealer) key(ctx context.Context, agency string) (*credential.Credential, crypto.Signer, *x509.Certificate, []*x509.Certificate, error) {
	cred, key, err := s.src.Seal(ctx, agency)
	if errors.Is(err, credential.ErrNotFound) {
		return nil, nil, nil, nil, ErrNoSeal
	}
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("sealing: seal of %s: %w", agency, err)
	}
	cert, err := x509.ParseCertificate(cred.CertDER)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("sealing: seal certificate of %s: %w", agency, err)
	}
	var chain []*x509.Certificate
	for _, der := range cred.ChainDER {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, nil, nil, nil, fmt.Errorf("sealing: seal chain of %s: %w", agency, err)
		}
		chain = append(chain, c)
	}
	return cred, key, cert, chain, nil
}

// SealPDF seals a result document with the agency's seal, with a visible
// stamp (the agency, its organisation and email, the time in Vietnam
// time) when stamp is not nil.
func (s *Sealer) SealPDF(ctx context.Context, agency string, pdf []byte, stamp *dossier.Stamp) ([]byte, error) {
	_, key, cert, chain, err := s.key(ctx, agency)
	if err != nil {
		return nil, err
	}
	level := s.Level
	if level < signer.BLT {
		level = signer.BLT
	}
	opts := signer.PDFOptions{Level: level, Certify: true,
		Name: cert.Subject.CommonName, Reason: s.Reason, Location: s.Location, Deps: s.deps}
	if stamp != nil {
		opts.Appearance = &signer.Appearance{Page: stamp.Page, X: stamp.X, Y: stamp.Y, Width: stamp.Width, Height: stamp.Height}
	}
	return signer.SealPDF(ctx, key, cert, chain, pdf, opts)
}

// SealDigest signs a SHA-256 digest with the agency's seal key and returns
// the signature (ECDSA DER or RSA PKCS#1 v1.5) and the seal certificate.
func (s *Sealer) SealDigest(ctx context.Context, agency string, digest []byte) ([]byte, []byte, error) {
	cred, key, _, _, err := s.key(ctx, agency)
	if err != nil {
		return nil, nil, err
	}
	sig, err := key.Sign(rand.Reader, digest, crypto.SHA256)
	if err != nil {
		return nil, nil, fmt.Errorf("sealing: sign digest for %s: %w", agency, err)
	}
	return sig, cred.CertDER, nil
}
