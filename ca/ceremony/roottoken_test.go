package ceremony_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"testing"

	"kyso/auth"
	"kyso/ca"
	"kyso/ca/ceremony"
	"kyso/hsm"
	"kyso/hsm/hsmtest"
	"kyso/store/storetest"
)

// The root key lives on a token of its own that only ceremonies open: the
// CA as the server loads it (no root token) cannot sign with the root, yet
// serves the root's CRL that the ceremony signed; the next root CRL and a
// rotation are ceremony work.
func TestRootKeyOnlyInCeremonies(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	root, service := hsmtest.New(t), hsmtest.New(t)
	tokens := ceremony.Tokens{Root: root, Service: service}
	cfg := ceremony.DevConfig()
	cfg.OutputDir = t.TempDir()
	var out bytes.Buffer
	if err := ceremony.InitTokens(ctx, cfg, tokens, db, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if _, err := root.FindKey(ctx, ca.LabelRoot); err != nil {
		t.Fatalf("root key on the root token: %v", err)
	}
	if _, err := service.FindKey(ctx, ca.LabelRoot); !errors.Is(err, hsm.ErrKeyNotFound) {
		t.Fatalf("root key on the service token: %v", err)
	}
	if keys, _ := root.ListKeys(ctx); len(keys) != 1 {
		t.Fatalf("root token keys %v, want the root key alone", keys)
	}

	// The server's view: the service token only.
	c, err := ca.Load(ctx, db, service, ca.Config{BaseURL: cfg.BaseURL})
	if err != nil {
		t.Fatal(err)
	}
	der, err := c.CRL(ctx, "root", 0)
	if err != nil {
		t.Fatalf("root CRL: %v", err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(c.Root()); err != nil {
		t.Fatalf("root CRL signature: %v", err)
	}
	if _, err := c.RegenerateCRL(ctx, "root", 0); !errors.Is(err, ca.ErrRootOffline) {
		t.Fatalf("RegenerateCRL(root) without the root token: %v, want ErrRootOffline", err)
	}
	if n, err := c.RefreshCRLs(ctx); err != nil || n == 0 {
		t.Fatalf("RefreshCRLs = %d, %v (the issuing CAs' CRLs still refresh)", n, err)
	}
	citizenCA, _ := c.CitizenIssuer()
	officer := &auth.Principal{Role: auth.RoleOfficer, Subject: "officer-1"}
	if _, err := c.Revoke(ctx, ca.SerialHex(citizenCA.SerialNumber), "keyCompromise", officer); !errors.Is(err, ca.ErrRootOffline) {
		t.Fatalf("revoking an issuing CA without the root: %v, want ErrRootOffline", err)
	}

	// Ceremonies: the next root CRL, and a rotation, with the root token.
	if err := ceremony.ResignRootCRL(ctx, tokens, db, &out); err != nil {
		t.Fatal(err)
	}
	der2, err := c.CRL(ctx, "root", 0)
	if err != nil {
		t.Fatal(err)
	}
	crl2, err := x509.ParseRevocationList(der2)
	if err != nil {
		t.Fatal(err)
	}
	if crl2.Number.Cmp(crl.Number) <= 0 || crl2.CheckSignatureFrom(c.Root()) != nil {
		t.Fatalf("re-signed root CRL number %v after %v", crl2.Number, crl.Number)
	}
	// Revoking the issuing CA is a ceremony: the root's CRL then lists it.
	if err := ceremony.RevokeCA(ctx, tokens, db, ca.SerialHex(citizenCA.SerialNumber), "cessationOfOperation", &out); err != nil {
		t.Fatalf("revoke the citizen CA: %v", err)
	}
	der3, err := c.CRL(ctx, "root", 0)
	if err != nil {
		t.Fatal(err)
	}
	crl3, err := x509.ParseRevocationList(der3)
	if err != nil || crl3.CheckSignatureFrom(c.Root()) != nil || len(crl3.RevokedCertificateEntries) != 1 ||
		crl3.RevokedCertificateEntries[0].SerialNumber.Cmp(citizenCA.SerialNumber) != 0 {
		t.Fatalf("root CRL after revoking the citizen CA: %v %+v", err, crl3)
	}
	if err := ceremony.RotateTokens(ctx, ceremony.RotateConfig{Role: "citizen"}, ceremony.Tokens{Root: service, Service: service}, db, &out); err == nil {
		t.Fatal("rotation without the root token succeeded")
	}
	if err := ceremony.RotateTokens(ctx, ceremony.RotateConfig{Role: "citizen"}, tokens, db, &out); err != nil {
		t.Fatalf("rotation: %v\n%s", err, out.String())
	}
}
