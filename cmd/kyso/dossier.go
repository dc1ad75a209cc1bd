package main

import (
	"context"
	"crypto/x509"

	"kyso/dossier"
	"kyso/dossier/sealing"
)

// openDossier opens the five-step process with the agencies' HSM seals and
// the form signature checks.
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
		Sealer:    sealing.New(c.ca, c.signDeps),
		Forms:     forms,
		Log:       e.log.With("component", "dossier"),
		PublicURL: e.cfg.PublicURL,
	})
	if err != nil {
		return nil, err
	}
	return svc, nil
}
