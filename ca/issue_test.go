package ca_test

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"os/exec"
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

// Issuing CAs assert the policies of what they issue, so a relying party
// that requires an explicit policy accepts a leaf under the policy of its
// profile, and refuses it under a policy its CA does not assert (openssl's
// RFC 5280 §6.1 policy processing).
func TestExplicitPolicyOpenSSL(t *testing.T) {
	openssl := requireTool(t, "openssl")
	e := sqliteEnv(t, "")
	ctx := context.Background()
	iss := citizenCert(t, e, "001099012345")
	dir := t.TempDir()
	root := writePEM(t, dir, "root.pem", e.ca.Root())
	citizenCA := writePEM(t, dir, "citizen-ca.pem", iss.Chain...)
	agency, _ := e.ca.AgencyIssuer()
	agencyCA := writePEM(t, dir, "agency-ca.pem", agency)
	seal, _, err := e.ca.Seal(ctx, e.cfg.Agencies[0].Code)
	if err != nil {
		t.Fatal(err)
	}
	sealCert, err := x509.ParseCertificate(seal.CertDER)
	if err != nil {
		t.Fatal(err)
	}
	tsaCert, _ := e.ca.TSA()
	policy := func(n profile.Name) string {
		s, _ := profile.Lookup(n)
		return append(append(asn1.ObjectIdentifier{}, profile.DefaultPolicyArc...), s.PolicySuffix).String()
	}
	for _, tc := range []struct {
		name   string
		leaf   *x509.Certificate
		ca     string
		policy profile.Name
		ok     bool
	}{
		{"citizen", iss.Certificate, citizenCA, profile.Citizen, true},
		{"citizen under the seal policy", iss.Certificate, citizenCA, profile.Seal, false},
		{"seal", sealCert, agencyCA, profile.Seal, true},
		{"seal under the citizen policy", sealCert, agencyCA, profile.Citizen, false},
		{"tsa", tsaCert, agencyCA, profile.TimeStamping, true},
	} {
		leaf := writePEM(t, dir, "leaf.pem", tc.leaf)
		out, err := exec.Command(openssl, "verify", "-CAfile", root, "-untrusted", tc.ca, "-policy", policy(tc.policy), "-explicit_policy", leaf).CombinedOutput()
		if ok := err == nil && strings.Contains(string(out), ": OK"); ok != tc.ok {
			t.Errorf("%s: verify ok=%v, want %v:\n%s", tc.name, ok, tc.ok, out)
		}
	}
	// The CA certificates themselves: explicit OIDs, never anyPolicy.
	for _, c := range []*x509.Certificate{iss.Chain[0], agency} {
		if len(c.PolicyIdentifiers) == 0 {
			t.Errorf("%s asserts no policy", c.Subject.CommonName)
		}
		for _, p := range c.PolicyIdentifiers {
			if p.Equal(asn1.ObjectIdentifier{2, 5, 29, 32, 0}) {
				t.Errorf("%s asserts anyPolicy", c.Subject.CommonName)
			}
		}
	}
	if len(e.ca.Root().PolicyIdentifiers) != 0 {
		t.Errorf("root asserts policies")
	}
}
