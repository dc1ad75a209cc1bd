package main

import (
	"context"

	"kyso/activity"
	"kyso/dossier"
	"kyso/dossier/sealing"
)

// openDossier opens the five-step process with the agencies' HSM seals and
// the form signature checks.
func openDossier(ctx context.Context, e *env, c *components) (*dossier.Service, error) {
	_, sealKey := c.ca.ServiceSeal()
	// Forms go through the one verifier: trust, revocation and algorithm
	// policy are the same as for `kyso verify` and /v1/verify.
	forms := dossier.NewSignatureForms(dossier.FormsConfig{Verifier: c.verifier})
	svc, err := dossier.New(ctx, dossier.Config{
		DB: e.db, Audit: c.audit, EventKey: sealKey,
		Sealer:    sealing.New(c.ca, c.signDeps),
		Forms:     forms,
		Activity:  activity.New(e.db),
		Log:       e.log.With("component", "dossier"),
		PublicURL: e.cfg.PublicURL,
	})
	if err != nil {
		return nil, err
	}
	if e.cfg.Dev.SeedDemoAgencies { // development only: CheckProduction refuses it
		if err := dossier.SeedDemoAgencies(ctx, svc.Agencies()); err != nil {
			return nil, err
		}
	}
	return svc, nil
}
