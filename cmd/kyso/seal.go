package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"fmt"

	"kyso/ca"
	"kyso/credential"
	"kyso/dossier"
	"kyso/signer"
	"kyso/signer/pades"
)

// agencySealer connects the dossier process to the agencies' seal keys in
// the HSM (through the CA) and to the PAdES signer.
type agencySealer struct {
	ca   *ca.CA
	deps signer.Deps
}

func (s agencySealer) seal(ctx context.Context, agency string) (crypto.Signer, *x509.Certificate, []*x509.Certificate, error) {
	cred, key, err := s.ca.Seal(ctx, agency)
	if err != nil {
		return nil, nil, nil, err
	}
	cert, chain, err := credentialCerts(cred)
	if err != nil {
		return nil, nil, nil, err
	}
	return key, cert, chain, nil
}

// SealPDF seals an e-result at PAdES B-LT with a certification (DocMDP)
// signature.
func (s agencySealer) SealPDF(ctx context.Context, agency string, pdf []byte) ([]byte, error) {
	key, cert, chain, err := s.seal(ctx, agency)
	if err != nil {
		return nil, err
	}
	return signer.SealPDF(ctx, key, cert, chain, pdf, signer.PDFOptions{
		Level: pades.BLT, Certify: true, Reason: "Kết quả giải quyết thủ tục hành chính", Deps: s.deps,
	})
}

// SealDigest signs a SHA-256 digest (of a digitized file) with the seal key.
func (s agencySealer) SealDigest(ctx context.Context, agency string, digest []byte) ([]byte, []byte, error) {
	key, cert, _, err := s.seal(ctx, agency)
	if err != nil {
		return nil, nil, err
	}
	sig, err := key.Sign(rand.Reader, digest, crypto.SHA256)
	if err != nil {
		return nil, nil, fmt.Errorf("seal digest: %w", err)
	}
	return sig, cert.Raw, nil
}

func credentialCerts(c *credential.Credential) (*x509.Certificate, []*x509.Certificate, error) {
	cert, err := x509.ParseCertificate(c.CertDER)
	if err != nil {
		return nil, nil, fmt.Errorf("seal %s certificate: %w", c.ID, err)
	}
	var chain []*x509.Certificate
	for _, der := range c.ChainDER {
		ic, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, nil, fmt.Errorf("seal %s chain: %w", c.ID, err)
		}
		chain = append(chain, ic)
	}
	return cert, chain, nil
}

// openDossier opens the five-step process with the agency sealer and the
// form signature checks.
func openDossier(ctx context.Context, e *env, c *components) (*dossier.Service, error) {
	_, sealKey := c.ca.ServiceSeal()
	citizenCA, _ := c.ca.CitizenIssuer()
	var intermediates []*x509.Certificate
	for _, info := range c.ca.Issuers() {
		if info.Certificate != nil && info.Certificate.IsCA && string(info.Certificate.RawSubject) != string(c.ca.Root().RawSubject) {
			intermediates = append(intermediates, info.Certificate)
		}
	}
	if citizenCA != nil && len(intermediates) == 0 {
		intermediates = append(intermediates, citizenCA)
	}
	forms := dossier.NewSignatureForms(dossier.FormsConfig{
		Roots:         []*x509.Certificate{c.ca.Root()},
		Intermediates: intermediates,
		PDF:           c.verifier,
	})
	svc, err := dossier.New(ctx, dossier.Config{
		DB: e.db, Audit: c.audit, EventKey: sealKey,
		Sealer: agencySealer{ca: c.ca, deps: c.signDeps},
		Forms:  forms,
		Log:    e.log.With("component", "dossier"),
	})
	if err != nil {
		return nil, err
	}
	if err := dossier.SeedDemoAgencies(ctx, svc.Agencies()); err != nil {
		return nil, err
	}
	return svc, nil
}
