package federation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
)

// TestClientAssertion: the private_key_jwt assertion names the client as
// iss and sub, the token endpoint as audience, is fresh (jti, iat) and
// short-lived, carries the configured kid and verifies with the key.
func TestClientAssertion(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	rp := &RP{cfg: Config{Now: func() time.Time { return now }}}
	p := &provider{cfg: Provider{Name: "vneid", Issuer: "https://sso.example", ClientID: "kyso", PrivateKey: key, PrivateKeyID: "k1"},
		auth: oauth2.Config{Endpoint: oauth2.Endpoint{TokenURL: "https://sso.example/oauth/token"}}}
	seen := map[string]bool{}
	for range 2 {
		raw, err := rp.clientAssertion(p)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatal(err)
		}
		if h := tok.Headers[0]; h.KeyID != "k1" || h.Algorithm != "ES256" {
			t.Fatalf("header %+v", h)
		}
		var c jwt.Claims
		if err := tok.Claims(&key.PublicKey, &c); err != nil {
			t.Fatal(err)
		}
		if c.Issuer != "kyso" || c.Subject != "kyso" || !c.Audience.Contains("https://sso.example/oauth/token") || c.ID == "" || seen[c.ID] {
			t.Fatalf("claims %+v", c)
		}
		seen[c.ID] = true
		if !c.IssuedAt.Time().Equal(now) || c.Expiry.Time().Sub(now) > 5*time.Minute || !c.Expiry.Time().After(now) {
			t.Fatalf("lifetime %v..%v", c.IssuedAt.Time(), c.Expiry.Time())
		}
	}
}

// TestClientKeyPolicy: only EC keys on the NIST curves and RSA keys of
// 2048 bits or more sign client assertions, and a provider takes a
// secret or a key, not both.
func TestClientKeyPolicy(t *testing.T) {
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	if _, err := assertionAlg(weak); err == nil {
		t.Fatal("a 1024-bit RSA key was accepted")
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if alg, err := assertionAlg(ec); err != nil || alg != jose.ES384 {
		t.Fatalf("P-384: %v %v", alg, err)
	}
	p := Provider{Name: "vneid", Issuer: "https://sso.example", ClientID: "kyso", ClientSecret: "s", PrivateKey: ec,
		ACR: map[string]Level{"l2": {LoA: "substantial"}}}
	if err := p.check(); err == nil {
		t.Fatal("secret and key both accepted")
	}
	if _, err := ParsePrivateKey([]byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")); err == nil {
		t.Fatal("encrypted PEM accepted")
	}
}
