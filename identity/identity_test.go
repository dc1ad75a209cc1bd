package identity_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	certstest "kyso/certs-test"
	"kyso/hsm"
	"kyso/hsm/hsmtest"
	"kyso/identity"
	"kyso/identity/pa"
	"kyso/identity/pki"
	"kyso/problem"
	"kyso/store"
	"kyso/store/storetest"
)

var testNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// cards caches generated cards: RSA key generation is slow.
var cards sync.Map

func chip(t testing.TB, alg, tamper string) *certstest.Chip {
	t.Helper()
	key := alg + "/" + tamper
	if c, ok := cards.Load(key); ok {
		return c.(*certstest.Chip)
	}
	c, err := certstest.NewChip(certstest.ChipOptions{
		ID: "079090001234", Name: "Trần Đức Anh", Sex: "M", BirthDate: "1990-02-15",
		Alg: alg, Tamper: tamper, Seed: "identity-test", Now: testNow,
	})
	if err != nil {
		t.Fatal(err)
	}
	cards.Store(key, c)
	return c
}

func trustOf(t testing.TB, c *certstest.Chip) *pa.TrustStore {
	t.Helper()
	csca, err := pki.ParseCertificate(c.CSCA)
	if err != nil {
		t.Fatal(err)
	}
	return pa.NewTrustStore(csca)
}

func input(t testing.TB, c *certstest.Chip, nonce []byte) identity.CardInput {
	t.Helper()
	sig, err := c.Answer(nonce)
	if err != nil {
		t.Fatal(err)
	}
	return identity.CardInput{SOD: c.SOD, DG1: c.DG1, DG13: c.DG13, DG15: c.DG15, DG14: c.DG14, AASignature: sig}
}

func codeOf(err error) string {
	if p, ok := problem.As(err); ok {
		return p.Code
	}
	if err != nil {
		return "internal: " + err.Error()
	}
	return ""
}

func TestVerifyCardAlgorithms(t *testing.T) {
	nonce := []byte("01234567")
	for _, alg := range certstest.Algorithms() {
		t.Run(alg, func(t *testing.T) {
			c := chip(t, alg, "")
			card, err := identity.VerifyCard(input(t, c, nonce), nonce, trustOf(t, c), identity.CardPolicy{}, testNow)
			if err != nil {
				t.Fatal(err)
			}
			want := identity.Card{IDNumber: "079090001234", FullName: "Trần Đức Anh", BirthDate: "1990-02-15", Sex: "M", DocumentType: "cccd", IssuingState: "VNM"}
			if card.IDNumber != want.IDNumber || card.FullName != want.FullName || card.BirthDate != want.BirthDate ||
				card.Sex != want.Sex || card.DocumentType != want.DocumentType || card.IssuingState != want.IssuingState ||
				card.Province != "Hà Nội" {
				t.Fatalf("card %+v", card)
			}
			if len(card.SODHash) != 64 || len(card.DSCFingerprint) != 64 {
				t.Fatalf("audit hashes %q %q", card.SODHash, card.DSCFingerprint)
			}
		})
	}
}

// Every tamper case of the generator maps to its reason code.
func TestVerifyCardTamperCases(t *testing.T) {
	nonce := []byte("01234567")
	for tamper, code := range certstest.Tampers() {
		t.Run(tamper, func(t *testing.T) {
			c := chip(t, "p256", tamper)
			_, err := identity.VerifyCard(input(t, c, nonce), nonce, trustOf(t, c), identity.CardPolicy{}, testNow)
			if got := codeOf(err); got != code {
				t.Fatalf("code %q, want %q (%v)", got, code, err)
			}
		})
	}
}

func TestVerifyCardInputProblems(t *testing.T) {
	nonce := []byte("01234567")
	c := chip(t, "p256", "")
	ts := trustOf(t, c)
	tests := []struct {
		name string
		edit func(in *identity.CardInput, nonce *[]byte)
		code string
	}{
		{"missing sod", func(in *identity.CardInput, _ *[]byte) { in.SOD = nil }, "malformed-input"},
		{"garbage sod", func(in *identity.CardInput, _ *[]byte) { in.SOD = []byte{0x77, 0x03, 1, 2, 3} }, "malformed-input"},
		{"missing dg13", func(in *identity.CardInput, _ *[]byte) { in.DG13 = nil }, "malformed-input"},
		{"answer to another nonce", func(_ *identity.CardInput, n *[]byte) { *n = []byte("76543210") }, "aa-failed"},
		{"dg1 swapped for dg13", func(in *identity.CardInput, _ *[]byte) { in.DG1 = in.DG13 }, "dg-hash-mismatch"},
		{"truncated aa signature", func(in *identity.CardInput, _ *[]byte) { in.AASignature = in.AASignature[:10] }, "aa-failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := input(t, c, nonce)
			n := nonce
			tt.edit(&in, &n)
			_, err := identity.VerifyCard(in, n, ts, identity.CardPolicy{}, testNow)
			if got := codeOf(err); got != tt.code {
				t.Fatalf("code %q, want %q (%v)", got, tt.code, err)
			}
		})
	}
	// An empty trust store: the DSC is untrusted.
	_, err := identity.VerifyCard(input(t, c, nonce), nonce, pa.NewTrustStore(), identity.CardPolicy{}, testNow)
	if codeOf(err) != "dsc-untrusted" {
		t.Fatalf("empty trust store: %v", err)
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// assertionKey is a P-256 key in SoftHSM when available, else in software.
func assertionKey(t *testing.T) crypto.Signer {
	if hsmtest.ModulePath() != "" {
		h := hsmtest.New(t)
		k, err := h.GenerateKey(context.Background(), hsm.KeySpec{Label: "identity-assertion", Type: hsm.ECP256})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	t.Log("SoftHSM2 not installed: the assertion key is a software key")
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newService(t *testing.T, db *store.DB, clk *clock, c *certstest.Chip, cfg identity.Config, reg identity.Registry, keys ...crypto.Signer) *identity.Service {
	t.Helper()
	s, err := identity.New(context.Background(), db, identity.Options{
		Config: cfg, Trust: trustOf(t, c), Registry: reg, Keys: keys, Now: clk.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// challenge → verification → assertion → VerifyAssertion and an independent
// check with go-jose against the JWKS.
func TestEndToEnd(t *testing.T) {
	key := assertionKey(t)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &clock{t: testNow}
		c := chip(t, "brainpool", "")
		svc := newService(t, db, clk, c, identity.Config{Issuer: "https://id.kyso.test", Audience: "kyso-api"}, nil, key)

		ch, err := svc.NewChallenge(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ch.Nonce) != identity.NonceSize || !ch.ExpiresAt.Equal(testNow.Add(2*time.Minute)) {
			t.Fatalf("challenge %+v", ch)
		}
		nonce, err := base64.StdEncoding.DecodeString(ch.NonceBase64())
		if err != nil {
			t.Fatal(err)
		}
		req := identity.VerifyRequest{ChallengeID: ch.ID, CardInput: input(t, c, nonce)}
		v, err := svc.Verify(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		cl := v.Claims
		if cl.Subject != "079090001234" || cl.Name != "Trần Đức Anh" || cl.BirthDate != "1990-02-15" || cl.Sex != "M" ||
			cl.LoA != "low" || cl.IDLevel != "" || strings.Join(cl.AMR, ",") != "pa,aa" || cl.ACR != identity.ACRPrefix+"low" {
			t.Fatalf("claims %+v", cl)
		}
		if ttl := cl.Expiry.Time().Sub(cl.IssuedAt.Time()); ttl <= 0 || ttl > 15*time.Minute {
			t.Fatalf("lifetime %s", ttl)
		}
		// The payload carries no residence, family or photo data.
		parts := strings.Split(v.Assertion, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		for _, bad := range []string{"Tràng Tiền", "Nguyễn Văn An", "residence", "photo", "parents"} {
			if strings.Contains(string(payload), bad) {
				t.Errorf("assertion leaks %q", bad)
			}
		}

		a, err := svc.VerifyAssertion(ctx, v.Assertion)
		if err != nil {
			t.Fatal(err)
		}
		if a.Subject != cl.Subject || a.JTI != cl.ID || a.LoA != "low" || a.BirthDate != "1990-02-15" {
			t.Fatalf("assertion %+v", a)
		}

		// Independent check: go-jose with the published JWKS.
		jwksJSON, err := json.Marshal(svc.JWKS())
		if err != nil {
			t.Fatal(err)
		}
		var jwks jose.JSONWebKeySet
		if err := json.Unmarshal(jwksJSON, &jwks); err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.ParseSigned(v.Assertion, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatal(err)
		}
		keys := jwks.Key(tok.Headers[0].KeyID)
		if len(keys) != 1 {
			t.Fatalf("kid %q not in JWKS", tok.Headers[0].KeyID)
		}
		var std jwt.Claims
		if err := tok.Claims(keys[0].Key, &std); err != nil {
			t.Fatal(err)
		}
		if err := std.ValidateWithLeeway(jwt.Expected{Issuer: "https://id.kyso.test", AnyAudience: jwt.Audience{"kyso-api"}, Time: testNow}, 0); err != nil {
			t.Fatal(err)
		}

		// The challenge is single use.
		if _, err := svc.Verify(ctx, req); codeOf(err) != "challenge-reused" {
			t.Fatalf("reuse: %v", err)
		}
		if _, err := svc.Verify(ctx, identity.VerifyRequest{ChallengeID: "nope", CardInput: req.CardInput}); codeOf(err) != "challenge-unknown" {
			t.Fatalf("unknown: %v", err)
		}
		ch2, err := svc.NewChallenge(ctx)
		if err != nil {
			t.Fatal(err)
		}
		clk.add(2*time.Minute + time.Second)
		if _, err := svc.Verify(ctx, identity.VerifyRequest{ChallengeID: ch2.ID, CardInput: input(t, c, ch2.Nonce)}); codeOf(err) != "challenge-expired" {
			t.Fatalf("expired challenge: %v", err)
		}

		// Assertion checks: expiry, audience, foreign key.
		clk.add(20 * time.Minute)
		if _, err := svc.VerifyAssertion(ctx, v.Assertion); codeOf(err) != "assertion-invalid" {
			t.Fatalf("expired assertion: %v", err)
		}
		other := newService(t, db, &clock{t: testNow}, c, identity.Config{Issuer: "https://id.kyso.test", Audience: "someone-else"}, nil, key)
		if _, err := other.VerifyAssertion(ctx, v.Assertion); codeOf(err) != "assertion-invalid" {
			t.Fatalf("wrong audience: %v", err)
		}
		soft, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		foreign := newService(t, db, &clock{t: testNow}, c, identity.Config{Issuer: "https://id.kyso.test", Audience: "kyso-api"}, nil, soft)
		if _, err := foreign.VerifyAssertion(ctx, v.Assertion); codeOf(err) != "assertion-invalid" {
			t.Fatalf("foreign key: %v", err)
		}
		// Rotation: a service whose previous key is the old one still
		// accepts the assertion.
		rotated := newService(t, db, &clock{t: testNow}, c, identity.Config{Issuer: "https://id.kyso.test", Audience: "kyso-api"}, nil, soft, key)
		if _, err := rotated.VerifyAssertion(ctx, v.Assertion); err != nil {
			t.Fatalf("rotated: %v", err)
		}
	})
}

func TestRegistry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := chip(t, "p256", "")
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		csv := "id,full_name,birth_date,sex\n" +
			"079090001234,Trần  Đức Anh,1990-02-15,M\n" +
			"001190000001,Lê Văn Bình,1985-01-01,M\n"
		n, err := identity.ImportRegistryCSV(ctx, db, strings.NewReader(csv))
		if err != nil || n != 2 {
			t.Fatalf("import: %d, %v", n, err)
		}
		run := func(cfg identity.Config) (*identity.Verification, error) {
			svc := newService(t, db, &clock{t: testNow}, c, cfg, nil, key)
			ch, err := svc.NewChallenge(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return svc.Verify(ctx, identity.VerifyRequest{ChallengeID: ch.ID, CardInput: input(t, c, ch.Nonce)})
		}
		v, err := run(identity.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if v.Claims.LoA != "substantial" || v.Claims.IDLevel != "1" || strings.Join(v.Claims.AMR, ",") != "pa,aa,registry" {
			t.Fatalf("matched: %+v", v.Claims)
		}
		// Contradiction: the registry says another birth date.
		if _, err := identity.ImportRegistryCSV(ctx, db, strings.NewReader("id,full_name,birth_date,sex\n079090001234,Trần Đức Anh,1990-02-16,M\n")); err != nil {
			t.Fatal(err)
		}
		if _, err := run(identity.Config{}); codeOf(err) != "registry-mismatch" {
			t.Fatalf("contradiction: %v", err)
		}
		// Off: not consulted.
		if v, err := run(identity.Config{Registry: identity.RegistryOff}); err != nil || v.Claims.LoA != "low" {
			t.Fatalf("off: %v", err)
		}
		// A bad row imports nothing.
		if _, err := identity.ImportRegistryCSV(ctx, db, strings.NewReader("id,full_name,birth_date,sex\n001190000002,A,1990-01-01,M\n12,B,1990-01-01,M\n")); err == nil {
			t.Fatal("bad CSV accepted")
		}
		if _, err := identity.NewStoreRegistry(db).Lookup(ctx, "001190000002"); !errors.Is(err, identity.ErrNotInRegistry) {
			t.Fatalf("partial import: %v", err)
		}
	})
}

func TestRegistryRequiredAndMissing(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	c := chip(t, "p256", "")
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	svc := newService(t, db, &clock{t: testNow}, c, identity.Config{Registry: identity.RegistryRequired, RSAPSS: true}, nil, key)
	ch, _ := svc.NewChallenge(ctx)
	if _, err := svc.Verify(ctx, identity.VerifyRequest{ChallengeID: ch.ID, CardInput: input(t, c, ch.Nonce)}); codeOf(err) != "registry-mismatch" {
		t.Fatalf("required, missing: %v", err)
	}
	svc = newService(t, db, &clock{t: testNow}, c, identity.Config{RSAPSS: true}, nil, key)
	ch, _ = svc.NewChallenge(ctx)
	v, err := svc.Verify(ctx, identity.VerifyRequest{ChallengeID: ch.ID, CardInput: input(t, c, ch.Nonce)})
	if err != nil || v.Claims.LoA != "low" {
		t.Fatalf("optional, missing: %v", err)
	}
	tok, err := jwt.ParseSigned(v.Assertion, []jose.SignatureAlgorithm{jose.PS256})
	if err != nil {
		t.Fatalf("PS256 expected: %v", err)
	}
	_ = tok
}

func TestHTTPRegistry(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/citizens/079090001234":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"id":"079090001234","full_name":"Trần Đức Anh","birth_date":"1990-02-15","sex":"m"}`))
		case "/citizens/000000000000":
			w.WriteHeader(http.StatusInternalServerError)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	reg := identity.NewHTTPRegistry(srv.URL+"/", 2*time.Second)
	ctx := context.Background()
	rec, err := reg.Lookup(ctx, "079090001234")
	if err != nil || rec.Sex != "M" || rec.FullName != "Trần Đức Anh" {
		t.Fatalf("%+v %v", rec, err)
	}
	if _, err := reg.Lookup(ctx, "001190000001"); !errors.Is(err, identity.ErrNotInRegistry) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := reg.Lookup(ctx, "000000000000"); err == nil || errors.Is(err, identity.ErrNotInRegistry) {
		t.Fatalf("server error: %v", err)
	}
	// Through the service: a failing registry is a 503 registry-unavailable.
	db := storetest.SQLite(t)
	c := chip(t, "p256", "")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	svc := newService(t, db, &clock{t: testNow}, c, identity.Config{}, reg, key)
	ch, _ := svc.NewChallenge(ctx)
	v, err := svc.Verify(ctx, identity.VerifyRequest{ChallengeID: ch.ID, CardInput: input(t, c, ch.Nonce)})
	if err != nil || v.Claims.LoA != "substantial" {
		t.Fatalf("http registry match: %v", err)
	}
}

// BenchmarkVerifyCard measures passive plus active authentication of one
// card (verifications per second = 1e9 / ns/op).
func BenchmarkVerifyCard(b *testing.B) {
	nonce := []byte("01234567")
	for _, alg := range []string{"p256", "rsa", "brainpool"} {
		b.Run(alg, func(b *testing.B) {
			c := chip(b, alg, "")
			in := input(b, c, nonce)
			ts := trustOf(b, c)
			b.ResetTimer()
			for b.Loop() {
				if _, err := identity.VerifyCard(in, nonce, ts, identity.CardPolicy{}, testNow); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
		})
	}
}

// A VNM card signed under a trusted foreign CSCA, one whose document
// signer lacks digitalSignature and one whose document signer is a CA are
// each refused, with three different codes.
func TestForeignAndMisprofiledSignersRefused(t *testing.T) {
	nonce := []byte("01234567")
	seen := map[string]string{}
	for _, tamper := range []string{"foreign-csca", "dsc-key-usage", "dsc-is-ca"} {
		c := chip(t, "p256", tamper)
		// The attack is real: the SOD signature and the chain to the
		// (trusted) CSCA verify.
		res, err := pa.Verify(c.SOD, nil, nil, pa.Options{Now: testNow, SkipChain: true})
		if err != nil {
			t.Fatalf("%s: SOD does not even verify: %v", tamper, err)
		}
		csca, _ := pki.ParseCertificate(c.CSCA)
		if err := res.DSC.CheckSignatureFrom(csca); err != nil || !res.DSC.ValidAt(testNow) {
			t.Fatalf("%s: DSC does not chain to the trusted CSCA: %v", tamper, err)
		}
		_, err = identity.VerifyCard(input(t, c, nonce), nonce, trustOf(t, c), identity.CardPolicy{}, testNow)
		code := codeOf(err)
		if code == "" || strings.HasPrefix(code, "internal") {
			t.Fatalf("%s accepted or failed oddly: %v", tamper, err)
		}
		if prev, dup := seen[code]; dup {
			t.Fatalf("%s and %s share code %s", tamper, prev, code)
		}
		seen[code] = tamper
	}
}
