package policy_test

import (
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

	"kyso/verifier/policy"
)

func TestDefault(t *testing.T) {
	p := policy.Default()
	d := func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsa2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	for _, tc := range []struct {
		name string
		s    policy.Sunset
		at   time.Time
		ok   bool
	}{
		{"SHA-1 in 2008", p.Digest(crypto.SHA1), d("2008-01-01"), true},
		{"SHA-1 today", p.Digest(crypto.SHA1), time.Now(), false},
		{"SHA-256", p.Digest(crypto.SHA256), time.Now(), true},
		{"MD5", p.Digest(crypto.MD5), d("2000-01-01"), false},
		{"RSA-1024 in 2009", p.Key(&rsa1024.PublicKey), d("2009-01-01"), true},
		{"RSA-1024 today", p.Key(&rsa1024.PublicKey), time.Now(), false},
		{"RSA-2048", p.Key(&rsa2048.PublicKey), time.Now(), true},
		{"P-256", p.Key(&p256.PublicKey), time.Now(), true},
		{"P-224 not listed", p.Key(&p224.PublicKey), time.Now(), false},
		{"earliest", policy.Earliest(p.Digest(crypto.SHA256), p.Key(&rsa1024.PublicKey)), time.Now(), false},
	} {
		if got := tc.s.AcceptableAt(tc.at); got != tc.ok {
			t.Errorf("%s: acceptable %t, want %t (%+v)", tc.name, got, tc.ok, tc.s)
		}
	}
	if p.Freshness != 0 || p.ClockSkew != 5*time.Minute {
		t.Errorf("default freshness %v, clock skew %v", p.Freshness, p.ClockSkew)
	}
}

func TestParseErrors(t *testing.T) {
	base := string(policy.DefaultYAML())
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown field", base + "\nextra: 1\n", "extra"},
		{"unknown digest", strings.Replace(base, "SHA-224:", "MD5:", 1), "unknown digest"},
		{"bad date", strings.Replace(base, `"2009-08-01"`, `"2009/08/01"`, 1), "YYYY-MM-DD"},
		{"bad RSA", strings.Replace(base, "RSA-1024:", "RSA-x:", 1), "RSA-<bits>"},
		{"bad freshness", strings.Replace(base, "freshness: 0s", "freshness: soon", 1), "duration"},
		{"bad clock skew", strings.Replace(base, "clock_skew: 5m", "clock_skew: -5m", 1), "revocation.clock_skew"},
		{"clock skew of days", strings.Replace(base, "clock_skew: 5m", "clock_skew: 72h", 1), "revocation.clock_skew"},
		{"unknown EKU", strings.Replace(base, "emailProtection", "nonsense", 1), "extended key usage"},
		{"empty", "", "EOF"},
		{"no algorithms", "revocation: {freshness: 1h}\n", "digests and keys"},
	} {
		if _, err := policy.Parse([]byte(tc.yaml)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	p, err := policy.Parse([]byte(strings.Replace(base, "freshness: 0s", "freshness: 36h", 1)))
	if err != nil || p.Freshness != 36*time.Hour {
		t.Fatalf("%v %v", p, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(policy.DefaultYAML())
	f.Add([]byte("digests: {SHA-256: \"\"}\nkeys: {RSA-2048: \"\"}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		policy.Parse(b)
	})
}

// Extended key usage constraints per format: a format's own list replaces
// the default one for that format only; format names are checked, in any
// case, so a misspelt one cannot silently fall back to the default.
func TestExtendedKeyUsagePerFormat(t *testing.T) {
	base := string(policy.DefaultYAML())
	perFormat := strings.Replace(base, "    default: [", "    pdf: [adobeAuthenticDocumentsTrust, documentSigning]\n    JWS: []\n    default: [", 1)
	p, err := policy.Parse([]byte(perFormat))
	if err != nil {
		t.Fatal(err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cert := func(eku ...x509.ExtKeyUsage) *x509.Certificate {
		der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Nguyễn Văn An"},
			NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: eku}, &x509.Certificate{SerialNumber: big.NewInt(2)}, k.Public(), k)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	email, server := cert(x509.ExtKeyUsageEmailProtection), cert(x509.ExtKeyUsageServerAuth)
	for _, tc := range []struct {
		name   string
		p      *policy.Policy
		c      *x509.Certificate
		format string
		ok     bool
	}{
		{"default policy, emailProtection, PDF", policy.Default(), email, "PDF", true},
		{"default policy, serverAuth, CMS", policy.Default(), server, "CMS", false},
		{"PDF list, emailProtection, PDF", p, email, "PDF", false},
		{"PDF list, emailProtection, CMS (default list)", p, email, "CMS", true},
		{"PDF list, serverAuth, CMS (default list)", p, server, "CMS", false},
		{"empty JWS list, serverAuth, JWS", p, server, "JWS", true},
	} {
		if _, err := tc.p.SignerCertificate(tc.c, tc.format); (err == nil) != tc.ok {
			t.Errorf("%s: got %v, want ok %t", tc.name, err, tc.ok)
		}
	}
	for _, bad := range []string{"    docx: [documentSigning]\n", "    PDF: []\n    pdf: []\n"} {
		if _, err := policy.Parse([]byte(strings.Replace(base, "    default: [", bad+"    default: [", 1))); err == nil || !strings.Contains(err.Error(), "extended_key_usage") {
			t.Errorf("%q: got %v", bad, err)
		}
	}
}
