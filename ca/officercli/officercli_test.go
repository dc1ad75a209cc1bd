package officercli_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"path/filepath"
	"strings"
	"testing"

	"kyso/audit"
	"kyso/auth"
	"kyso/ca"
	"kyso/ca/ceremony"
	"kyso/ca/officercli"
	"kyso/ca/profile"
	"kyso/hsm/hsmtest"
	"kyso/store/storetest"
)

func TestOfficerCLI(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	h := hsmtest.New(t)
	if err := ceremony.Init(ctx, ceremony.DevConfig(), h, db, nil); err != nil {
		t.Fatal(err)
	}
	alog, err := audit.New(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ca.Load(ctx, db, h, ca.Config{BaseURL: "http://kyso.test", CRLShards: 4, Audit: alog})
	if err != nil {
		t.Fatal(err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, k)
	csr, _ := x509.ParseCertificateRequest(der)
	iss, err := c.Issue(ctx, ca.IssueRequest{Profile: profile.Citizen, SubjectID: "001099012345", CSR: csr,
		Subject: profile.Subject{CommonName: "Hồ Văn Cường", UID: profile.CitizenUID("001099012345")}})
	if err != nil {
		t.Fatal(err)
	}
	officer := &auth.Principal{Role: auth.RoleOfficer, Subject: "cli:alice"}
	runCLI := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := officercli.Run(ctx, args, officercli.Deps{CA: c, Audit: alog, Actor: officer, Stdout: &out, Stderr: &errb})
		return code, out.String() + errb.String()
	}
	if code, out := runCLI("list", "--subject", "001099012345"); code != 0 || !strings.Contains(out, iss.Serial) {
		t.Fatalf("list: %d %s", code, out)
	}
	if code, out := runCLI("revoke", iss.Serial, "--reason", "certificateHold"); code != 0 || !strings.Contains(out, "hold") {
		t.Fatalf("hold: %d %s", code, out)
	}
	if code, out := runCLI("release", iss.Serial); code != 0 || !strings.Contains(out, "valid") {
		t.Fatalf("release: %d %s", code, out)
	}
	if code, out := runCLI("revoke", iss.Serial, "--reason", "affiliationChanged"); code != 0 || !strings.Contains(out, "affiliationChanged") {
		t.Fatalf("revoke: %d %s", code, out)
	}
	if code, _ := runCLI("revoke", iss.Serial, "--reason", "nonsense"); code != 1 {
		t.Fatalf("bad reason: %d", code)
	}
	p := filepath.Join(t.TempDir(), "x.crl")
	if code, out := runCLI("crl", iss.Issuer, "0", "--out", p); code != 0 {
		t.Fatalf("crl: %d %s", code, out)
	}
	if code, out := runCLI("history", iss.Serial); code != 0 || !strings.Contains(out, "ca.certificate.release") || !strings.Contains(out, "cli:alice") {
		t.Fatalf("history: %d %s", code, out)
	}
	if code := officercli.Run(ctx, []string{"list"}, officercli.Deps{CA: c, Actor: &auth.Principal{Role: auth.RoleCitizen}}); code != 1 {
		t.Fatal("a citizen ran the officer CLI")
	}
	if code, _ := runCLI("frobnicate"); code != 2 {
		t.Fatal("unknown command")
	}
	// The officer's actions are in the audit log under their name.
	entries, err := alog.List(ctx, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]bool{}
	for _, e := range entries {
		if e.Actor == "cli:alice" {
			actions[e.Action] = true
		}
	}
	for _, a := range []string{"ca.certificate.hold", "ca.certificate.release", "ca.certificate.revoke"} {
		if !actions[a] {
			t.Errorf("audit lacks %s: %v", a, actions)
		}
	}
}
