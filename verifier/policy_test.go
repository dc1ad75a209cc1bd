package verifier

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	"kyso/verifier/internal/testdoc"
	"kyso/verifier/policy"
	"kyso/verifier/report"
)

// issueCustom issues a certificate from the test root with a template the
// test shapes (key usage, EKU, CA flag, key type).
func issueCustom(t *testing.T, fx *fixture, serial int64, key crypto.Signer, edit func(*x509.Certificate)) testdoc.Key {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{Country: []string{"VN"}, CommonName: "Custom Signer"},
		NotBefore: testdoc.Base, NotAfter: testdoc.Base.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		BasicConstraintsValid: true, OCSPServer: []string{fx.pki.OCSPURL}, CRLDistributionPoints: []string{fx.pki.CRLURL},
	}
	edit(tmpl)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, fx.pki.Root.Cert, key.Public(), fx.pki.Root.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return testdoc.Key{Cert: c, Key: key}
}

// Weak algorithms and unsuitable signer certificates, each signed by
// openssl (CMS) or pdfsign (PDF) under Kyso's test root, with the EU DSS
// indication expected under the default policy.
func TestPolicy(t *testing.T) {
	fx := newFixture(t)
	ec := func() crypto.Signer {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		return k
	}
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	rsa2048, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("Giấy xác nhận kết quả\n")
	cms := func(k testdoc.Key, extra ...string) []byte { return opensslCMS(t, k, content, true, extra...) }
	pdf := func(k testdoc.Key) []byte {
		return fx.pki.Sign(t, fx.plain, testdoc.SignOptions{Signer: k, TSA: true})
	}
	good := issueCustom(t, fx, 5001, rsa2048, func(*x509.Certificate) {})
	weak := issueCustom(t, fx, 5002, rsa1024, func(*x509.Certificate) {})
	keyEnc := issueCustom(t, fx, 5003, ec(), func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageKeyEncipherment })
	caCert := issueCustom(t, fx, 5004, ec(), func(c *x509.Certificate) {
		c.IsCA, c.KeyUsage = true, x509.KeyUsageCertSign|x509.KeyUsageDigitalSignature
	})
	serverAuth := issueCustom(t, fx, 5005, ec(), func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} })
	docSigning := issueCustom(t, fx, 5006, ec(), func(c *x509.Certificate) {
		c.UnknownExtKeyUsage = append(c.UnknownExtKeyUsage, []int{1, 3, 6, 1, 5, 5, 7, 3, 36})
	})
	for _, tc := range []struct {
		name string
		doc  func() []byte
		want report.Indication
		sub  report.SubIndication
	}{
		{"RSA-2048 SHA-256", func() []byte { return cms(good) }, report.TotalPassed, ""},
		{"SHA-1 digest", func() []byte { return cms(good, "-md", "sha1") }, report.Indeterminate, report.CryptoConstraintsFailure},
		{"RSA-1024 key", func() []byte { return cms(weak) }, report.Indeterminate, report.CryptoConstraintsFailure},
		{"keyEncipherment-only signer, CMS", func() []byte { return cms(keyEnc) }, report.Indeterminate, report.ChainConstraintsFailure},
		{"keyEncipherment-only signer, PDF", func() []byte { return pdf(keyEnc) }, report.Indeterminate, report.ChainConstraintsFailure},
		{"CA certificate signs a PDF", func() []byte { return pdf(caCert) }, report.Indeterminate, report.ChainConstraintsFailure},
		{"serverAuth-only signer, PDF", func() []byte { return pdf(serverAuth) }, report.Indeterminate, report.ChainConstraintsFailure},
		{"documentSigning signer, PDF", func() []byte { return pdf(docSigning) }, report.TotalPassed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := fx.online.Verify(context.Background(), Input{Data: tc.doc()})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Status.MainIndication != tc.want || rep.Status.SubIndication != tc.sub {
				dump(t, rep)
				t.Fatalf("got %s/%s, want %s/%s", rep.Status.MainIndication, rep.Status.SubIndication, tc.want, tc.sub)
			}
		})
	}

	// The policy, not the code, decides: accepting SHA-1 until 2030 makes
	// the SHA-1 signature pass.
	withPolicy := func(t *testing.T, from, to string, at time.Time) *Verifier {
		t.Helper()
		pol, err := policy.Parse([]byte(strings.Replace(string(policy.DefaultYAML()), from, to, 1)))
		if err != nil {
			t.Fatal(err)
		}
		return New(Options{Roots: []*x509.Certificate{fx.pki.Root.Cert}, Policy: pol, At: at, Revocation: fx.online.opts.Revocation})
	}
	check := func(t *testing.T, v *Verifier, doc []byte, want report.Indication, sub report.SubIndication) {
		t.Helper()
		rep, err := v.Verify(context.Background(), Input{Data: doc})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Status.MainIndication != want || rep.Status.SubIndication != sub {
			dump(t, rep)
			t.Fatalf("got %s/%s, want %s/%s", rep.Status.MainIndication, rep.Status.SubIndication, want, sub)
		}
	}
	check(t, withPolicy(t, `SHA-1: "2009-08-01"`, `SHA-1: "2030-01-01"`, time.Time{}), cms(good, "-md", "sha1"), report.TotalPassed, "")
	// RSA-2048 retired tomorrow, validated in three days: a signature
	// claiming today with nothing proving it is _NO_POE; one whose
	// time-stamp (ECDSA P-256, still acceptable) proves today passes.
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	later := withPolicy(t, `RSA-2048: ""`, `RSA-2048: "`+tomorrow+`"`, time.Now().AddDate(0, 0, 3))
	check(t, later, cms(good), report.Indeterminate, report.CryptoConstraintsFailureNoPOE)
	check(t, later, pdf(good), report.TotalPassed, "")
	// A time-stamp is held to the policy too: with SHA-256 retired
	// tomorrow the time-stamp itself needs a proof of existence, which
	// nothing gives, so it proves nothing.
	sha256Later := withPolicy(t, `SHA-256: ""`, `SHA-256: "`+tomorrow+`"`, time.Now().AddDate(0, 0, 3))
	check(t, sha256Later, pdf(docSigning), report.Indeterminate, report.CryptoConstraintsFailureNoPOE)

	// A policy that leaves out the signer section used to mean no signer
	// constraint at all: a CA certificate with keyCertSign only then signs
	// TOTAL-PASSED, exactly as under a policy that writes those lax
	// settings out. Leaving a section or signer setting out is an error
	// naming it; the default refuses the signer.
	certSignOnly := issueCustom(t, fx, 5007, ec(), func(c *x509.Certificate) { c.IsCA, c.KeyUsage = true, x509.KeyUsageCertSign })
	base := string(policy.DefaultYAML())
	signerAt := strings.Index(base, "\nsigner:")
	lax := base[:signerAt] + "\nsigner: {key_usage: [], refuse_ca: false, extended_key_usage: {}}\n"
	laxPol, err := policy.Parse([]byte(lax))
	if err != nil {
		t.Fatal(err)
	}
	check(t, New(Options{Roots: []*x509.Certificate{fx.pki.Root.Cert}, Policy: laxPol, Revocation: fx.online.opts.Revocation}), pdf(certSignOnly), report.TotalPassed, "")
	for _, tc := range []struct{ yaml, missing string }{
		{base[:signerAt] + "\n", "signer"},
		{base[:signerAt] + "\nsigner: {refuse_ca: true, extended_key_usage: {}}\n", "signer.key_usage"},
		{base[:signerAt] + "\nsigner: {key_usage: [digitalSignature], extended_key_usage: {}}\n", "signer.refuse_ca"},
		{base[:signerAt] + "\nsigner: {key_usage: [digitalSignature], refuse_ca: true}\n", "signer.extended_key_usage"},
		{base[:strings.Index(base, "\nrevocation:")] + base[signerAt:], "revocation"},
	} {
		if _, err := policy.Parse([]byte(tc.yaml)); err == nil || !strings.Contains(err.Error(), tc.missing) {
			t.Fatalf("policy without %s: %v", tc.missing, err)
		}
	}
	check(t, fx.online, pdf(certSignOnly), report.Indeterminate, report.ChainConstraintsFailure)
}
