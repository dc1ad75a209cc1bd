package api_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"kyso/api"
	certstest "kyso/certs-test"
	"kyso/identity"
	"kyso/identity/pa"
	"kyso/identity/pki"
	"kyso/store/storetest"
)

func identityServer(t *testing.T) (*httptest.Server, *certstest.Chip, *identity.Service) {
	t.Helper()
	chip, err := certstest.NewChip(certstest.ChipOptions{ID: "001190012345", Name: "Lê Thị Hoa", Alg: "p256", Seed: "api-test"})
	if err != nil {
		t.Fatal(err)
	}
	csca, err := pki.ParseCertificate(chip.CSCA)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := identity.New(context.Background(), storetest.SQLite(t), identity.Options{
		Trust: pa.NewTrustStore(csca), Keys: []crypto.Signer{key},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Deps{Assertions: svc}, api.NewIdentityArea(svc, nil)))
	t.Cleanup(srv.Close)
	return srv, chip, svc
}

func postJSON(t *testing.T, url string, body any) (*http.Response, map[string]any) {
	t.Helper()
	var rd io.Reader = http.NoBody
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(http.MethodPost, url, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

func TestIdentityRoutes(t *testing.T) {
	srv, chip, _ := identityServer(t)
	b64 := base64.StdEncoding.EncodeToString

	resp, ch := postJSON(t, srv.URL+"/v1/identity/challenges", nil)
	if resp.StatusCode != http.StatusCreated || ch["challenge_id"] == "" || ch["expires_at"] == nil {
		t.Fatalf("challenge: %d %v", resp.StatusCode, ch)
	}
	nonce, err := base64.StdEncoding.DecodeString(ch["nonce"].(string))
	if err != nil || len(nonce) != 8 {
		t.Fatalf("nonce %v: %v", ch["nonce"], err)
	}
	sig, err := chip.Answer(nonce)
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]string{
		"challenge_id": ch["challenge_id"].(string),
		"sod":          b64(chip.SOD), "dg1": b64(chip.DG1), "dg13": b64(chip.DG13), "dg15": b64(chip.DG15), "dg14": b64(chip.DG14),
		"aa_signature": b64(sig),
	}
	resp, out := postJSON(t, srv.URL+"/v1/identity/verifications", body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("verification: %d %v", resp.StatusCode, out)
	}
	assertion, _ := out["assertion"].(string)
	claims, _ := out["claims"].(map[string]any)
	if assertion == "" || claims["sub"] != "001190012345" || claims["name"] != "Lê Thị Hoa" {
		t.Fatalf("verification body %v", out)
	}

	// The assertion authenticates the citizen on /v1/whoami.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+assertion)
	who, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var whoBody map[string]any
	_ = json.NewDecoder(who.Body).Decode(&whoBody)
	who.Body.Close()
	if who.StatusCode != http.StatusOK || whoBody["subject"] != "001190012345" {
		t.Fatalf("whoami: %d %v", who.StatusCode, whoBody)
	}

	// Reuse is refused with a problem document and a stable code.
	resp, out = postJSON(t, srv.URL+"/v1/identity/verifications", body)
	if resp.StatusCode != http.StatusConflict || out["code"] != "challenge-reused" || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("reuse: %d %v", resp.StatusCode, out)
	}

	// JWKS.
	jr, err := http.Get(srv.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(jr.Body).Decode(&set); err != nil || len(set.Keys) != 1 || set.Keys[0].KeyID == "" {
		t.Fatalf("jwks: %v %+v", err, set)
	}
	jr.Body.Close()
}

func TestIdentityMalformedInput(t *testing.T) {
	srv, _, _ := identityServer(t)
	tests := []struct {
		name string
		body any
		code string
	}{
		{"no challenge", map[string]string{"sod": "AA=="}, "malformed-input"},
		{"not base64", map[string]string{"challenge_id": "x", "sod": "***", "dg1": "AA==", "dg15": "AA==", "aa_signature": "AA=="}, "malformed-input"},
		{"missing dg15", map[string]string{"challenge_id": "x", "sod": "AA==", "dg1": "AA==", "aa_signature": "AA=="}, "malformed-input"},
		{"unknown field", map[string]string{"challenge_id": "x", "photo": "AA=="}, "malformed-input"},
		{"unknown challenge", map[string]string{"challenge_id": "x", "sod": "AA==", "dg1": "AA==", "dg15": "AA==", "aa_signature": "AA=="}, "challenge-unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, out := postJSON(t, srv.URL+"/v1/identity/verifications", tt.body)
			if out["code"] != tt.code {
				t.Fatalf("got %v, want %s", out, tt.code)
			}
		})
	}
}
