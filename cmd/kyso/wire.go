package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/mod/sumdb/note"

	"kyso/api"
	"kyso/audit"
	"kyso/auth"
	"kyso/ca"
	"kyso/config"
	"kyso/credential"
	"kyso/dossier"
	"kyso/identity"
	"kyso/identity/federation"
	"kyso/identity/pa"
	"kyso/signer"
	"kyso/signer/csc"
	"kyso/tsa"
	"kyso/verifier"
	"kyso/verifier/policy"
	"kyso/verifier/revocation"
)

// tsaPolicy is the policy OID of the built-in time-stamp authority (under
// the same private arc as the certificate policies).
var tsaPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 59595, 2, 1}

// components are the domain services behind the HTTP server and the CLI.
type components struct {
	audit    *audit.Log
	auditKey string
	ca       *ca.CA
	identity *identity.Service
	tsa      *tsa.Server
	sign     *csc.Service
	signDeps signer.Deps
	verifier *verifier.Verifier
	dossier  *dossier.Service
	// federation is nil without identity.oidc.providers.
	federation *federation.RP
}

// open loads every domain component on the open store and HSM.
func open(ctx context.Context, e *env) (*components, error) {
	c := &components{}
	cfg := e.cfg
	logSigner, vkey, err := logNoteSigner(ctx, e)
	if err != nil {
		return nil, err
	}
	c.auditKey = vkey
	if c.audit, err = audit.New(ctx, e.db, logSigner); err != nil {
		return nil, err
	}
	c.audit.SetLogger(e.log.With("component", "audit"))
	replay := auth.NewReplayGuard(e.db)
	if e.citizen == nil {
		if err := e.openCitizenHSM(ctx); err != nil {
			return nil, err
		}
	}
	citizenKeys := credential.NewKeys(credential.NewStore(e.db).WithAudit(c.audit), e.citizen, "")
	if ok, err := e.citizen.HasSecret(ctx, credential.SecretLabel); err != nil {
		return nil, fmt.Errorf("citizen-key token: %w", err)
	} else if !ok {
		return nil, fmt.Errorf("the citizen-key token %q has no derivation secret %s (kyso token init, or make run, makes it)", e.cfg.HSM.CitizenTokenLabel, credential.SecretLabel)
	}
	c.ca, err = ca.Load(ctx, e.db, e.hsm, ca.Config{
		CitizenKeys:       citizenKeys,
		BaseURL:           cfg.PublicURL,
		CRLShards:         cfg.CA.CRLShards,
		CRLValidity:       cfg.CA.CRLValidity,
		OCSPValidity:      cfg.CA.OCSPValidity,
		MaxIssuancePerDay: cfg.CA.IssuancePerDay,
		MaxPINFailures:    cfg.Signer.MaxPINFailures,
		Log:               e.log.With("component", "ca"),
		Audit:             c.audit,
		Replay:            replay,
		Assurance:         auth.Assurance(cfg.Identity.Assurance),
	})
	if err != nil {
		return nil, fmt.Errorf("load CA: %w", err)
	}
	trust, _, err := identity.LoadTrust(cfg.Identity.CSCADir, cfg.Identity.MasterListAnchors, e.log.With("component", "identity"))
	if err != nil {
		return nil, fmt.Errorf("identity.csca_dir: %w", err)
	}
	var registry identity.Registry
	if cfg.Identity.Registry == "http" {
		registry = identity.NewHTTPRegistry(cfg.Identity.RegistryURL, cfg.Identity.RegistryTimeout)
	}
	c.identity, err = identity.New(ctx, e.db, identity.Options{
		Config: identity.Config{
			Issuer:       cfg.PublicURL,
			Audience:     cfg.Identity.Audience,
			TTL:          cfg.Identity.AssertionLifetime,
			ChallengeTTL: cfg.Identity.ChallengeLifetime,
			Registry:     registryRequirement(cfg.Identity),
			CardPolicy:   cardPolicy(cfg.Identity),
		},
		Trust:    trust,
		Registry: registry,
		Keys:     []crypto.Signer{c.ca.IdentityKey()},
		Log:      e.log.With("component", "identity"),
		Audit:    c.audit,
	})
	if err != nil {
		return nil, err
	}

	if len(cfg.Identity.OIDC.Providers) > 0 {
		if c.federation, err = openFederation(ctx, e, c.identity, replay); err != nil {
			return nil, err
		}
	}

	if err := tsa.Migrate(ctx, e.db); err != nil {
		return nil, err
	}
	tsaCert, tsaKey := c.ca.TSA()
	if c.tsa, err = tsa.New(tsa.Config{Cert: tsaCert, Chain: issuerChain(c.ca, tsaCert), Signer: tsaKey, Policy: tsaPolicy, Log: e.log.With("component", "tsa")}, e.db); err != nil {
		return nil, err
	}
	var stamper signer.Stamper = c.tsa
	if cfg.Signer.TSAURL != "" {
		// Tokens of the external TSA are verified against
		// signer.tsa_trust_files, else the verifier's trust anchors.
		files := cfg.Signer.TSATrustFiles
		if len(files) == 0 {
			files = cfg.Verifier.TrustFiles
		}
		tsaRoots, err := verifier.LoadCertificates(files...)
		if err != nil {
			return nil, fmt.Errorf("signer.tsa_trust_files: %w", err)
		}
		stamper = &tsa.Client{URL: cfg.Signer.TSAURL, Roots: append(tsaRoots, c.ca.Root())}
	}
	c.signDeps = signer.Deps{
		Stamper:    stamper,
		Revocation: signer.CARevocation{OCSPFunc: c.ca.OCSPResponse, CRLFunc: c.ca.CRL},
		Root:       c.ca.Root(),
	}
	if err := csc.Migrate(ctx, e.db); err != nil {
		return nil, err
	}
	c.sign = csc.New(e.db, c.ca.Credentials(), citizenKeys, func(ctx context.Context, label string) (crypto.Signer, error) {
		k, err := e.hsm.FindKey(ctx, label)
		if err != nil {
			return nil, err
		}
		return k, nil
	}, c.audit, c.signDeps, csc.Config{MaxPINFailures: cfg.Signer.MaxPINFailures, SADLifetime: cfg.Signer.SADLifetime})

	roots := []*x509.Certificate{c.ca.Root()}
	extra, err := verifier.LoadCertificates(cfg.Verifier.TrustFiles...)
	if err != nil {
		return nil, fmt.Errorf("verifier.trust_files: %w", err)
	}
	roots = append(roots, extra...)
	pol, err := policy.Load(cfg.Verifier.Policy)
	if err != nil {
		return nil, fmt.Errorf("verifier.policy: %w", err)
	}
	c.verifier = verifier.New(verifier.Options{
		Roots:      roots,
		Policy:     pol,
		Revocation: revocation.New(revocation.Config{Offline: cfg.Verifier.Offline, AllowedHosts: revocationHosts(cfg), Freshness: pol.Freshness, ClockSkew: pol.ClockSkew}),
		Logger:     e.log.With("component", "verifier"),
	})

	if c.dossier, err = openDossier(ctx, e, c); err != nil {
		return nil, err
	}
	return c, nil
}

// revocationHosts are the hosts online revocation checks may contact: the
// configured ones and the service's own public host, whose OCSP responder
// and CRLs answer for the certificates it issued.
func revocationHosts(cfg config.Config) []string {
	hosts := append([]string(nil), cfg.Verifier.AllowedHosts...)
	if u, err := url.Parse(cfg.PublicURL); err == nil && u.Host != "" {
		hosts = append(hosts, u.Host)
	}
	return hosts
}

func registryRequirement(c config.Identity) identity.RegistryRequirement {
	switch {
	case c.Registry == "none":
		return identity.RegistryOff
	case c.RequireRegistryMatch:
		return identity.RegistryRequired
	default:
		return identity.RegistryOptional
	}
}

// cardPolicy is the chip document policy of the configuration.
func cardPolicy(c config.Identity) identity.CardPolicy {
	p := identity.CardPolicy{
		AllowPassports: c.AllowPassports,
		Algorithms:     pa.AlgorithmPolicy{MinRSABits: c.Algorithms.MinRSABits, AllowSHA1: c.Algorithms.AllowSHA1SOD},
		RefuseSHA1AA:   !c.Algorithms.AllowSHA1AA,
	}
	if t, err := time.Parse(time.DateOnly, c.Algorithms.LegacyRSABefore); err == nil {
		p.Algorithms.LegacyRSABefore = t
	}
	return p
}

// issuerChain returns the issuing certificates above cert, root excluded.
func issuerChain(c *ca.CA, cert *x509.Certificate) []*x509.Certificate {
	var chain []*x509.Certificate
	for _, info := range c.Issuers() {
		if info.Certificate != nil && info.Certificate.RawSubject != nil && string(info.Certificate.RawSubject) == string(cert.RawIssuer) &&
			string(info.Certificate.RawSubject) != string(c.Root().RawSubject) {
			chain = append(chain, info.Certificate)
		}
	}
	return chain
}

// wired are the components behind the HTTP server.
type wired struct {
	areas      []api.Area
	assertions auth.AssertionVerifier
	stop       func()
}

// wire opens the domain components and their HTTP areas, and starts the
// background work (CRL and OCSP refresh, pruning of used challenges, signed
// audit checkpoints).
func wire(ctx context.Context, e *env, principals *auth.Principals) (*wired, error) {
	c, err := open(ctx, e)
	if err != nil {
		return nil, err
	}
	verifyArea, err := api.NewVerifyArea(c.verifier, e.log)
	if err != nil {
		return nil, err
	}
	resultCheck, err := api.NewResultCheckArea(c.dossier, c.verifier, e.log)
	if err != nil {
		return nil, err
	}
	signArea := api.NewSignArea(c.sign, c.tsa, e.log)
	signArea.TempDir = filepath.Join(e.cfg.DataDir, "tmp")
	if err := os.MkdirAll(signArea.TempDir, 0o700); err != nil {
		return nil, err
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{}, 3)
	go func() {
		defer func() { done <- struct{}{} }()
		_ = c.audit.Run(bg, audit.SequencerOptions{Interval: e.cfg.Audit.SequenceInterval, LeaseTTL: e.cfg.Audit.LeaseTTL})
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		_ = c.ca.Run(bg, time.Minute)
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-bg.Done():
				return
			case <-t.C:
				if _, err := c.identity.PruneChallenges(bg); err != nil {
					e.log.Warn("pruning challenges", "err", err)
				}
			}
		}
	}()
	return &wired{
		areas: []api.Area{
			api.NewIdentityArea(c.identity, e.log),
			api.NewCAArea(c.ca, e.log),
			signArea,
			verifyArea,
			resultCheck,
			api.NewDossierArea(c.dossier, e.log),
			api.NewFederationArea(c.federation, e.log),
			api.NewAuditArea(c.audit, c.auditKey, e.log),
			api.NewDashboardArea(c.dossier, principals, e.log),
		},
		assertions: c.identity,
		stop: func() {
			cancel()
			<-done
			<-done
			<-done
		},
	}, nil
}

// logNoteSigner returns the note signer over the audit log's Ed25519 key in
// the HSM (reached through hsm.audit_module when set), named by the
// configured origin, and its verifier key.
func logNoteSigner(ctx context.Context, e *env) (note.Signer, string, error) {
	h, err := e.logKeyHSM(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("audit log key %s: %w", audit.LogKeyLabel, err)
	}
	if h == nil {
		return nil, "", fmt.Errorf("audit log key %s: the HSM is not open", audit.LogKeyLabel)
	}
	key, err := h.FindKey(ctx, audit.LogKeyLabel)
	if err != nil {
		return nil, "", fmt.Errorf("audit log key %s: %w (run the key ceremony, kyso ceremony init; an install whose ceremony predates the log creates the key with kyso ceremony log-key)", audit.LogKeyLabel, err)
	}
	vkey, err := audit.VerifierKey(e.cfg.LogOrigin(), key.Public())
	if err != nil {
		return nil, "", err
	}
	s, err := audit.NoteSigner(e.cfg.LogOrigin(), key)
	return s, vkey, err
}
