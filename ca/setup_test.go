package ca_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"kyso/audit"
	"kyso/ca"
	"kyso/ca/ceremony"
	"kyso/hsm"
	"kyso/hsm/hsmtest"
	"kyso/store"
	"kyso/store/storetest"
)

type env struct {
	ca      *ca.CA
	db      *store.DB
	h       *hsm.HSM
	citizen *hsm.HSM // citizen-key token (enrollEnv)
	dir     string
	audit   *audit.Log
	cfg     ceremony.Config
}

func setup(t testing.TB, db *store.DB, baseURL string) *env {
	t.Helper()
	ctx := context.Background()
	h := hsmtest.New(t)
	cfg := ceremony.DevConfig()
	cfg.OutputDir = t.TempDir()
	if baseURL != "" {
		cfg.BaseURL = baseURL
	}
	var out bytes.Buffer
	if err := ceremony.Init(ctx, cfg, h, db, &out); err != nil {
		t.Fatalf("ceremony: %v\n%s", err, out.String())
	}
	alog, err := audit.New(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ca.Load(ctx, db, h, ca.Config{BaseURL: cfg.BaseURL, CRLShards: cfg.CRLShards, Audit: alog})
	if err != nil {
		t.Fatal(err)
	}
	return &env{ca: c, db: db, h: h, dir: cfg.OutputDir, audit: alog, cfg: cfg}
}

func sqliteEnv(t *testing.T, baseURL string) *env {
	t.Helper()
	return setup(t, storetest.SQLite(t), baseURL)
}

func newCSR(t testing.TB) (*x509.CertificateRequest, crypto.Signer) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, k)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return csr, k
}

func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required (apt-get install it)", name)
		}
		t.Skipf("%s not installed; skipping", name)
	}
	return p
}

func writePEM(t *testing.T, dir, name string, certs ...*x509.Certificate) string {
	t.Helper()
	var b bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
