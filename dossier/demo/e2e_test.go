package demo_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"kyso/api"
	"kyso/audit"
	"kyso/auth"
	"kyso/ca"
	"kyso/ca/ceremony"
	certstest "kyso/certs-test"
	"kyso/dossier"
	"kyso/dossier/demo"
	"kyso/dossier/sealing"
	"kyso/hsm/hsmtest"
	"kyso/identity"
	"kyso/identity/pa"
	"kyso/identity/pki"
	"kyso/signer"
	"kyso/signer/csc"
	"kyso/store/storetest"
	"kyso/tsa"
	"kyso/verifier"
)

// caRevocation gives the signer the CA's own OCSP responses for the /DSS.
type caRevocation struct{ c *ca.CA }

func (r caRevocation) OCSP(ctx context.Context, cert, issuer *x509.Certificate) ([]byte, error) {
	return r.c.OCSPResponse(ctx, cert)
}

func (r caRevocation) CRLs(ctx context.Context, cert *x509.Certificate) ([][]byte, error) {
	return nil, nil
}

// TestRunEndToEnd runs the demo against a server wired from the real
// components: SoftHSM token and dev key ceremony, CA, identity (trusting the
// synthetic card's CSCA), remote signing, time-stamping, verifier and the
// dossier process sealed with the agency's HSM seal.
func TestRunEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	ctx := context.Background()
	db := storetest.SQLite(t)
	h := hsmtest.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg := ceremony.DevConfig()
	cfg.BaseURL = base
	if err := ceremony.Init(ctx, cfg, h, db, io.Discard); err != nil {
		t.Fatal(err)
	}
	ps, err := auth.NewPrincipals(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ca.Load(ctx, db, h, ca.Config{BaseURL: base, CRLShards: cfg.CRLShards, Replay: auth.NewReplayGuard(db)})
	if err != nil {
		t.Fatal(err)
	}
	_, seal := c.ServiceSeal()
	alog, err := audit.New(ctx, db, seal)
	if err != nil {
		t.Fatal(err)
	}

	chipDir := filepath.Join(t.TempDir(), "chip")
	if err := certstest.WriteChip(chipDir, demo.DemoCitizen); err != nil {
		t.Fatal(err)
	}
	cscaPEM, err := os.ReadFile(filepath.Join(chipDir, "csca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(cscaPEM)
	csca, err := pki.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := identity.New(ctx, db, identity.Options{Trust: pa.NewTrustStore(csca), Keys: []crypto.Signer{c.IdentityKey()}})
	if err != nil {
		t.Fatal(err)
	}

	if err := tsa.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	tsaCert, tsaKey := c.TSA()
	// Tokens must carry the TSA's issuing CA, or validators cannot chain
	// them to the root.
	var tsaChain []*x509.Certificate
	for _, iss := range []func() (*x509.Certificate, crypto.Signer){c.AgencyIssuer, c.CitizenIssuer} {
		if ic, _ := iss(); ic != nil && tsaCert.CheckSignatureFrom(ic) == nil {
			tsaChain = append(tsaChain, ic)
		}
	}
	ts, err := tsa.New(tsa.Config{Cert: tsaCert, Chain: tsaChain, Signer: tsaKey, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 2}}, db)
	if err != nil {
		t.Fatal(err)
	}
	deps := signer.Deps{Stamper: ts, Revocation: caRevocation{c}, Root: c.Root()}
	if err := csc.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	signing := csc.New(db, c.Credentials(), func(ctx context.Context, label string) (crypto.Signer, error) {
		return h.FindKey(ctx, label)
	}, alog, deps, csc.Config{})

	v := verifier.New(verifier.Options{Roots: []*x509.Certificate{c.Root()}})
	verifyArea, err := api.NewVerifyArea(v, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := dossier.New(ctx, dossier.Config{DB: db, Audit: alog, EventKey: seal, Sealer: sealing.New(c, deps),
		Forms: dossier.NewSignatureForms(dossier.FormsConfig{Roots: []*x509.Certificate{c.Root()}, PDF: v})})
	if err != nil {
		t.Fatal(err)
	}
	if err := dossier.SeedDemoAgencies(ctx, svc.Agencies()); err != nil {
		t.Fatal(err)
	}
	rec, token, err := ps.Add(ctx, auth.AddRequest{Role: auth.RoleAgency, AgencyCode: "UBND-HN", Name: "UBND-HN desk"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(api.New(api.Deps{Principals: ps, Assertions: ids},
		api.NewIdentityArea(ids, nil), api.NewCAArea(c, nil), api.NewSignArea(signing, ts, nil), verifyArea,
		api.NewDossierArea(svc, nil)))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)

	creds, _ := json.Marshal(demo.Credentials{BaseURL: base, Agency: demo.Principal{ID: rec.ID, Agency: "UBND-HN", Token: token}})
	credsFile := filepath.Join(t.TempDir(), "dev-credentials.json")
	if err := os.WriteFile(credsFile, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := demo.Run(ctx, demo.Options{CredentialsFile: credsFile, ChipDir: chipDir, Out: &out}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Logf("\n%s", out.String())
	arep, err := alog.Verify(ctx, seal.Public())
	if err != nil || arep.Broken != nil {
		t.Fatalf("audit: %v %+v", err, arep)
	}
	officer := &auth.Principal{Role: auth.RoleOfficer, Subject: "check"}
	page, err := svc.List(ctx, officer, dossier.ListQuery{})
	if err != nil || len(page.Dossiers) != 1 {
		t.Fatalf("dossiers: %v", err)
	}
	pdf, _, err := svc.Result(ctx, officer, page.Dossiers[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := v.Verify(ctx, verifier.Input{Data: pdf})
	if err != nil {
		t.Fatal(err)
	}
	if lvl := rep.Signatures[0].Level; lvl != "PAdES-BASELINE-LT" && lvl != "PAdES-BASELINE-LTA" {
		js, _ := json.MarshalIndent(rep, "", " ")
		t.Errorf("e-result sealed at %s, want B-LT or better:\n%s", lvl, js)
	}
}
