package api_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"kyso/api"
	"kyso/auth"
	"kyso/ca"
	"kyso/ca/ceremony"
	"kyso/credential"
	"kyso/hsm/hsmtest"
	"kyso/store/storetest"
)

// caAssertions accepts "citizen-<12 digits>-<jti>" as a bearer assertion.
type caAssertions struct{}

func (caAssertions) VerifyAssertion(_ context.Context, raw string) (*auth.Assertion, error) {
	parts := strings.Split(raw, "-")
	if len(parts) != 3 || parts[0] != "citizen" {
		return nil, errors.New("bad assertion")
	}
	return &auth.Assertion{Subject: parts[1], Name: "Võ Thị Sáu", Province: "Huế", LoA: "substantial", JTI: parts[2], Expiry: time.Now().Add(time.Minute)}, nil
}

func caServer(t *testing.T) (string, string) {
	t.Helper()
	ctx := context.Background()
	db := storetest.SQLite(t)
	h := hsmtest.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg := ceremony.DevConfig()
	cfg.BaseURL = base
	if err := ceremony.Init(ctx, cfg, h, db, io.Discard); err != nil {
		t.Fatal(err)
	}
	ps, err := auth.NewPrincipals(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	_, officer, err := ps.Add(ctx, auth.AddRequest{Role: auth.RoleOfficer, Name: "officer"})
	if err != nil {
		t.Fatal(err)
	}
	citizenKeys := credential.NewKeys(credential.NewStore(db), hsmtest.New(t), "")
	if _, err := citizenKeys.EnsureSecret(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := ca.Load(ctx, db, h, ca.Config{BaseURL: base, CRLShards: cfg.CRLShards, Replay: auth.NewReplayGuard(db), CitizenKeys: citizenKeys})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(api.New(api.Deps{Principals: ps, Assertions: caAssertions{}}, api.NewCAArea(c, nil)))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return base, officer
}

func call(t *testing.T, method, url, token string, body any) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestCAEndpoints(t *testing.T) {
	base, officer := caServer(t)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csrDER, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, k)
	csrPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER}))

	// A request choosing its own province (ST) is refused: the subject
	// comes from the verified chip data only.
	resp, body := call(t, "POST", base+"/v1/certificates", "citizen-001099012345-z", map[string]string{"key": "remote", "pin": "135790", "province": "Verified by Ministry of Public Security, signing for UBND Ha Noi"})
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/problem+json" ||
		!strings.Contains(string(body), "subject-attribute-not-requestable") {
		t.Fatalf("province in request: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	resp, body = call(t, "POST", base+"/v1/certificates", "citizen-001099012345-a", map[string]string{"key": "remote", "pin": "135790"})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("remote: %d %s", resp.StatusCode, body)
	}
	var remote struct {
		Serial, CredentialID, Certificate, Chain, NotBefore, NotAfter string
		CRLShard                                                      int `json:"crl_shard"`
	}
	_ = json.Unmarshal(body, &remote)
	var rr map[string]any
	_ = json.Unmarshal(body, &rr)
	for _, f := range []string{"serial", "credential_id", "certificate", "chain", "not_before", "not_after", "crl_shard", "audit_entry"} {
		if _, ok := rr[f]; !ok {
			t.Errorf("response lacks %s: %s", f, body)
		}
	}
	// Replayed assertion.
	resp, body = call(t, "POST", base+"/v1/certificates", "citizen-001099012345-a", map[string]string{"csr": csrPEM})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "assertion-replayed") {
		t.Fatalf("replay: %d %s", resp.StatusCode, body)
	}
	// Second remote credential: 409.
	resp, body = call(t, "POST", base+"/v1/certificates", "citizen-001099012345-b", map[string]string{"key": "remote", "pin": "135790"})
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("second remote: %d %s", resp.StatusCode, body)
	}
	// CSR issuance.
	resp, body = call(t, "POST", base+"/v1/certificates", "citizen-001099012345-c", map[string]string{"csr": csrPEM})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("csr: %d %s", resp.StatusCode, body)
	}
	var viaCSR map[string]any
	_ = json.Unmarshal(body, &viaCSR)
	serial := viaCSR["serial"].(string)
	block, _ := pem.Decode([]byte(viaCSR["certificate"].(string)))
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	// Bad CSR.
	resp, body = call(t, "POST", base+"/v1/certificates", "citizen-001099012345-d", map[string]string{"csr": "garbage"})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "bad-csr") {
		t.Fatalf("bad csr: %d %s", resp.StatusCode, body)
	}
	// Officers only list.
	if resp, _ := call(t, "GET", base+"/v1/certificates", "citizen-001099012345-e", nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("citizen list: %d", resp.StatusCode)
	}
	resp, body = call(t, "GET", base+"/v1/certificates?subject=001099012345&limit=1", officer, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("list: %d %s", resp.StatusCode, body)
	}
	var page struct {
		Certificates []map[string]any `json:"certificates"`
		Next         string           `json:"next_page_token"`
	}
	_ = json.Unmarshal(body, &page)
	if len(page.Certificates) != 1 || page.Next == "" {
		t.Fatalf("page 1: %s", body)
	}
	resp, body = call(t, "GET", base+"/v1/certificates?subject=001099012345&limit=1&page_token="+page.Next, officer, nil)
	_ = json.Unmarshal(body, &page)
	if resp.StatusCode != 200 || len(page.Certificates) != 1 {
		t.Fatalf("page 2: %s", body)
	}
	// Another citizen cannot revoke.
	resp, _ = call(t, "POST", base+"/v1/certificates/"+serial+"/revoke", "citizen-001099099999-f", map[string]string{"reason": "keyCompromise"})
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("stranger revoke: %d", resp.StatusCode)
	}
	// Officer puts it on hold; the owner may not lift an officer's hold,
	// the officer does; then the owner revokes.
	resp, body = call(t, "POST", base+"/v1/certificates/"+serial+"/revoke", officer, map[string]string{"reason": "certificateHold"})
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"hold"`) || !strings.Contains(string(body), `"audit_entry": "`) {
		t.Fatalf("hold: %d %s", resp.StatusCode, body)
	}
	resp, body = call(t, "POST", base+"/v1/certificates/"+serial+"/release", "citizen-001099012345-g", nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "hold-by-officer") {
		t.Fatalf("owner release of an officer's hold: %d %s", resp.StatusCode, body)
	}
	resp, body = call(t, "POST", base+"/v1/certificates/"+serial+"/release", officer, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("release: %d %s", resp.StatusCode, body)
	}
	resp, body = call(t, "POST", base+"/v1/certificates/"+serial+"/revoke", "citizen-001099012345-h", map[string]string{"reason": "keyCompromise"})
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"keyCompromise"`) {
		t.Fatalf("revoke: %d %s", resp.StatusCode, body)
	}
	// CA certificates.
	resp, body = call(t, "GET", base+"/v1/ca/certificates", "", nil)
	if resp.StatusCode != 200 || strings.Count(string(body), "BEGIN CERTIFICATE") != 3 {
		t.Fatalf("ca certificates: %d %s", resp.StatusCode, body)
	}
	resp, body = call(t, "GET", leaf.IssuingCertificateURL[0], "", nil)
	issuer, err := x509.ParseCertificate(body)
	if resp.StatusCode != 200 || err != nil {
		t.Fatalf("caIssuers: %d %v", resp.StatusCode, err)
	}
	// The CRL of the certificate's shard lists it.
	resp, body = call(t, "GET", leaf.CRLDistributionPoints[0], "", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pkix-crl" {
		t.Fatalf("crl: %d", resp.StatusCode)
	}
	rl, err := x509.ParseRevocationList(body)
	if err != nil || rl.CheckSignatureFrom(issuer) != nil {
		t.Fatalf("crl parse: %v", err)
	}
	found := false
	for _, e := range rl.RevokedCertificateEntries {
		found = found || e.SerialNumber.Cmp(leaf.SerialNumber) == 0
	}
	if !found {
		t.Fatal("revoked serial missing from its shard's CRL")
	}
	if resp, _ := call(t, "GET", base+"/crl/citizen-1/999.crl", "", nil); resp.StatusCode != 404 {
		t.Fatalf("unknown shard: %d", resp.StatusCode)
	}
	// OCSP over POST and GET.
	oreq, _ := ocsp.CreateRequest(leaf, issuer, nil)
	presp, err := http.Post(base+"/ocsp", "application/ocsp-request", bytes.NewReader(oreq))
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := io.ReadAll(presp.Body)
	presp.Body.Close()
	or, err := ocsp.ParseResponseForCert(pb, leaf, issuer)
	if err != nil || or.Status != ocsp.Revoked || or.RevocationReason != ocsp.KeyCompromise {
		t.Fatalf("ocsp POST: %+v %v", or, err)
	}
	gresp, body := call(t, "GET", base+"/ocsp/"+strings.ReplaceAll(base64Std(oreq), "/", "%2F"), "", nil)
	or, err = ocsp.ParseResponseForCert(body, leaf, issuer)
	if gresp.StatusCode != 200 || err != nil || or.Status != ocsp.Revoked {
		t.Fatalf("ocsp GET: %d %v", gresp.StatusCode, err)
	}
}

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
