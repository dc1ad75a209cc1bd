package ca_test

import (
	"context"
	"strings"
	"testing"

	"kyso/ca"
	"kyso/ca/profile"
)

func TestIssueCitizenOpenSSL(t *testing.T) {
	openssl := requireTool(t, "openssl")
	e := sqliteEnv(t, "")
	ctx := context.Background()
	csr, _ := newCSR(t)
	iss, err := e.ca.Issue(ctx, ca.IssueRequest{
		Profile: profile.Citizen, SubjectID: "001099012345", CSR: csr,
		Subject: profile.Subject{CommonName: "Nguyễn Văn An", Province: "Hà Nội", UID: profile.CitizenUID("001099012345")},
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	root := writePEM(t, dir, "root.pem", e.ca.Root())
	issuing := writePEM(t, dir, "issuing.pem", iss.Chain...)
	leaf := writePEM(t, dir, "leaf.pem", iss.Certificate)
	out := run(t, openssl, "verify", "-CAfile", root, "-untrusted", issuing, leaf)
	if !strings.Contains(out, "OK") {
		t.Fatalf("verify: %s", out)
	}
	text := run(t, openssl, "x509", "-in", leaf, "-noout", "-text", "-nameopt", "utf8,sep_comma_plus_space")
	for _, want := range []string{
		"UID=CCCD:001099012345", "Digital Signature, Non Repudiation", "E-mail Protection", "1.3.6.1.5.5.7.3.36",
		iss.CRLURL, "OCSP - URI:http://127.0.0.1:8080/ocsp", "CA Issuers - URI:http://127.0.0.1:8080/ca/citizen-1.crt",
		"Policy: 1.3.6.1.4.1.59595.1.1", "CN=Nguyễn Văn An",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("openssl x509 -text lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(text, "X509v3 Key Usage: critical") {
		t.Errorf("key usage not critical")
	}
	got, err := e.ca.Get(ctx, iss.Serial)
	if err != nil || got.Status != ca.StatusValid || got.Shard != iss.Shard || got.Issuer != "citizen-1" {
		t.Fatalf("stored: %+v %v", got, err)
	}
}
