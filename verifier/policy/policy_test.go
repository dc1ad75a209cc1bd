package policy_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
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
	if p.Freshness != 0 {
		t.Errorf("default freshness %v", p.Freshness)
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
