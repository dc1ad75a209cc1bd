package scenario

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digitorus/pdf"
)

// fakeServer answers the routes the suite calls the way the real server
// does, and checks what the suite sends: challenges answered by a card,
// single-use assertions for enrolment, seals and PINs for signing.
type fakeServer struct {
	t  *testing.T
	mu sync.Mutex
	// challenges issued and not yet used
	challenges map[string]bool
	// assertions issued → consumed by an enrolment
	assertions map[string]bool
	next       int
	enrolled   int
	remote     map[string]string // citizen assertion subject → credential
	signed     map[string]int    // seal or credential → signatures
	verified   int
	failSign   bool
}

func newFakeServer(t *testing.T) *fakeServer {
	return &fakeServer{t: t, challenges: map[string]bool{}, assertions: map[string]bool{}, remote: map[string]string{}, signed: map[string]int{}}
}

func problem(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"status":%d,"code":%q,"detail":"fake %s"}`, status, code, code)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

const agencyToken = "kyso_agency"

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch r.Method + " " + r.URL.Path {
	case "GET /readyz":
		writeJSON(w, 200, map[string]string{"status": "ready"})
	case "POST /v1/identity/challenges":
		f.next++
		id := fmt.Sprintf("ch%d", f.next)
		f.challenges[id] = true
		writeJSON(w, 201, map[string]string{"challenge_id": id, "nonce": base64.StdEncoding.EncodeToString([]byte("12345678"))})
	case "POST /v1/identity/verifications":
		var req map[string]string
		if json.NewDecoder(r.Body).Decode(&req) != nil {
			problem(w, 400, "malformed-body")
			return
		}
		if !f.challenges[req["challenge_id"]] {
			problem(w, 400, "unknown-challenge")
			return
		}
		delete(f.challenges, req["challenge_id"])
		for _, k := range []string{"aa_signature", "sod", "dg1", "dg13", "dg15"} {
			if b, err := base64.StdEncoding.DecodeString(req[k]); err != nil || len(b) == 0 {
				problem(w, 400, "missing-"+k)
				return
			}
		}
		f.next++
		a := fmt.Sprintf("assertion-%d", f.next)
		f.assertions[a] = false
		writeJSON(w, 201, map[string]any{"assertion": a})
	case "POST /v1/certificates":
		used, ok := f.assertions[token]
		if !ok {
			problem(w, 401, "unauthenticated")
			return
		}
		if used {
			problem(w, 401, "assertion-replayed")
			return
		}
		var req map[string]string
		if json.NewDecoder(r.Body).Decode(&req) != nil {
			problem(w, 400, "malformed-body")
			return
		}
		f.assertions[token] = true
		if req["key"] == "remote" {
			if req["pin"] == "" {
				problem(w, 400, "bad-request")
				return
			}
			f.next++
			id := fmt.Sprintf("cred-%d", f.next)
			f.remote[id] = req["pin"]
			writeJSON(w, 201, map[string]string{"serial": "01", "credential_id": id})
			return
		}
		block, _ := pem.Decode([]byte(req["csr"]))
		if block == nil {
			problem(w, 400, "bad-csr")
			return
		}
		csr, err := x509.ParseCertificateRequest(block.Bytes)
		if err != nil || csr.CheckSignature() != nil {
			problem(w, 400, "bad-csr")
			return
		}
		f.enrolled++
		writeJSON(w, 201, map[string]string{"serial": fmt.Sprintf("%x", f.enrolled)})
	case "POST /csc/v2/credentials/list":
		if token != agencyToken {
			problem(w, 401, "unauthenticated")
			return
		}
		writeJSON(w, 200, map[string]any{"credentialIDs": []string{"seal-1"}})
	case "POST /v1/sign/pdf":
		f.signPDF(w, r, token)
	case "POST /v1/verify":
		if r.Header.Get("Content-Type") != "application/pdf" {
			problem(w, 415, "unsupported-media-type")
			return
		}
		b, _ := io.ReadAll(r.Body)
		if !bytes.Contains(b, []byte("%fake-signature")) {
			writeJSON(w, 200, map[string]any{"ValidationStatus": map[string]string{"MainIndication": "TOTAL-FAILED"}})
			return
		}
		f.verified++
		writeJSON(w, 200, map[string]any{"ValidationStatus": map[string]string{"MainIndication": "TOTAL-PASSED"}})
	default:
		problem(w, 404, "not-found")
	}
}

func (f *fakeServer) signPDF(w http.ResponseWriter, r *http.Request, token string) {
	if f.failSign {
		problem(w, 503, "hsm-unavailable")
		return
	}
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		problem(w, 400, "malformed-body")
		return
	}
	file, _, err := r.FormFile("file")
	if err != nil {
		problem(w, 400, "missing-file")
		return
	}
	doc, _ := io.ReadAll(file)
	if !bytes.HasPrefix(doc, []byte("%PDF-")) {
		problem(w, 400, "not-a-pdf")
		return
	}
	if l := r.FormValue("level"); l != "B-B" && l != "B-T" {
		problem(w, 400, "bad-level")
		return
	}
	key := ""
	switch {
	case token == agencyToken && r.FormValue("seal_id") == "seal-1":
		key = "seal-1"
	case f.assertions[token] || !strings.HasPrefix(token, "assertion-"):
		// an enrolment consumed it, or not an assertion at all
		problem(w, 401, "unauthenticated")
		return
	default:
		pin, ok := f.remote[r.FormValue("credential_id")]
		if !ok || pin != r.FormValue("pin") {
			problem(w, 403, "wrong-pin")
			return
		}
		key = r.FormValue("credential_id")
	}
	f.signed[key]++
	w.Header().Set("Content-Type", "application/pdf")
	w.Write(append(doc, "%fake-signature "+r.FormValue("level")+"\n"...))
}

func TestRunAgainstFakeServer(t *testing.T) {
	fake := newFakeServer(t)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	docs := t.TempDir()
	var progress bytes.Buffer
	load, err := Run(context.Background(), Config{
		Client:   &Client{Base: srv.URL, HTTP: srv.Client()},
		Agencies: []Agency{{Code: "AG-RSA", KeyType: "RSA2048", Token: agencyToken}},
		Workers:  3, Duration: 5 * time.Second, MaxRequests: 12, Citizens: 12, DocsDir: docs, Progress: &progress,
	})
	if err != nil {
		t.Fatal(err)
	}
	if f := load.Failed(); len(f) > 0 {
		t.Fatalf("failed scenarios %v:\n%s", f, progress.String())
	}
	want := []struct{ name, baseline string }{
		{"identity verification (chip)", BaselineP256},
		{"certificate issuance (API)", BaselineIssuing},
		{"sign PDF B-B RSA2048 (AG-RSA)", BaselineRSA2048},
		{"sign PDF B-T RSA2048 (AG-RSA)", BaselineRSA2048},
		{"sign PDF B-B ECP256 (citizen)", BaselineP256},
		{"sign PDF B-T ECP256 (citizen)", BaselineP256},
		{"verify PDF B-T RSA2048 (AG-RSA)", BaselineP256},
		{"verify PDF B-T ECP256 (citizen)", BaselineP256},
	}
	if len(load.Scenarios) != len(want) {
		t.Fatalf("scenarios %d, want %d:\n%s", len(load.Scenarios), len(want), progress.String())
	}
	for i, w := range want {
		s := load.Scenarios[i]
		if s.Name != w.name || s.Baseline != w.baseline || s.Requests != 12 || s.Errors != 0 {
			t.Errorf("scenario %d: %s baseline %s, %d ok %d errors; want %s baseline %s, 12 ok", i, s.Name, s.Baseline, s.Requests, s.Errors, w.name, w.baseline)
		}
	}
	// Every enrolment used its own assertion (a replay would have failed),
	// one per citizen.
	if fake.enrolled != 12 {
		t.Errorf("enrolled %d, want 12", fake.enrolled)
	}
	if fake.signed["seal-1"] != 24 || fake.verified != 2+24 {
		t.Errorf("signed %v, verified %d", fake.signed, fake.verified)
	}
	if v := load.Scenarios[6].Note; v != "verdict: TOTAL-PASSED" {
		t.Errorf("verify note %q", v)
	}
	for _, name := range []string{"signed-AG-RSA-B-B.pdf", "signed-AG-RSA-B-T.pdf", "signed-citizen-B-B.pdf", "signed-citizen-B-T.pdf"} {
		b, err := os.ReadFile(filepath.Join(docs, name))
		if err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if !strings.Contains(progress.String(), "sign PDF B-T RSA2048 (AG-RSA)") {
		t.Errorf("progress:\n%s", progress.String())
	}
}

func TestRunCountsFailures(t *testing.T) {
	fake := newFakeServer(t)
	fake.failSign = true
	srv := httptest.NewServer(fake)
	defer srv.Close()
	load, err := Run(context.Background(), Config{
		Client:   &Client{Base: srv.URL, HTTP: srv.Client()},
		Agencies: []Agency{{Code: "AG", KeyType: "ECP256", Token: agencyToken}},
		Workers:  2, Duration: 5 * time.Second, MaxRequests: 4, Citizens: 1, Levels: []string{"B-B"},
	})
	if err != nil {
		t.Fatal(err)
	}
	failed := strings.Join(load.Failed(), "|")
	for _, name := range []string{"sign PDF B-B ECP256 (AG)", "sign PDF B-B ECP256 (citizen)", "verify PDF B-B ECP256 (AG)"} {
		if !strings.Contains(failed, name) {
			t.Errorf("%q not among the failed scenarios %q", name, failed)
		}
	}
	for _, s := range load.Scenarios {
		if s.Name == "sign PDF B-B ECP256 (AG)" && (s.Errors != 4 || !strings.Contains(s.FirstError, "HTTP 503 hsm-unavailable")) {
			t.Errorf("%+v", s)
		}
		if s.Name == "identity verification (chip)" && (s.Errors != 0 || s.Requests != 4) {
			t.Errorf("%+v", s)
		}
	}
}

func TestRunNeedsAReadyServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { problem(w, 503, "not-ready") }))
	defer srv.Close()
	_, err := Run(context.Background(), Config{Client: &Client{Base: srv.URL}, Duration: time.Second})
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 503 || se.Code != "not-ready" {
		t.Fatalf("err = %v", err)
	}
}

func TestClientErrors(t *testing.T) {
	fake := newFakeServer(t)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	c := &Client{Base: srv.URL + "/", HTTP: srv.Client()}
	ctx := context.Background()
	if _, err := c.Seals(ctx, "wrong"); err == nil || !strings.Contains(err.Error(), "HTTP 401 unauthenticated: fake unauthenticated") {
		t.Errorf("seals with a bad token: %v", err)
	}
	csr, err := NewCSR()
	if err != nil {
		t.Fatal(err)
	}
	chips, err := NewCitizens(1, "kyso-dev", 99999)
	if err != nil || chips[0].Card.ID != "001099099999" {
		t.Fatalf("citizen: %v", err)
	}
	a, err := c.VerifyChip(ctx, chips[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Enroll(ctx, a, csr); err != nil {
		t.Fatal(err)
	}
	var se *StatusError
	if _, err := c.Enroll(ctx, a, csr); !errors.As(err, &se) || se.Code != "assertion-replayed" {
		t.Errorf("replayed assertion: %v", err)
	}
	if _, err := c.Enroll(ctx, "assertion-x", "not a csr"); !errors.As(err, &se) || se.Status != 401 {
		t.Errorf("unknown assertion: %v", err)
	}
	if got, err := c.Verify(ctx, SamplePDF(1)); err != nil || got != "TOTAL-FAILED" {
		t.Errorf("verify unsigned: %q %v", got, err)
	}
	if _, err := c.SignPDF(ctx, Signer{Token: agencyToken, SealID: "seal-1"}, "B-LTA", SamplePDF(1)); !errors.As(err, &se) || se.Code != "bad-level" {
		t.Errorf("bad level: %v", err)
	}
}

func TestLoadCredentials(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, body, err string
	}{
		{"ok", `{"base_url":"http://127.0.0.1:8091","agencies":[{"code":"A","key_type":"RSA2048","token":"t"}]}`, ""},
		{"no token", `{"agencies":[{"code":"A"}]}`, "no code or token"},
		{"not json", `base_url: x`, "credentials"},
	} {
		path := filepath.Join(dir, c.name+".json")
		os.WriteFile(path, []byte(c.body), 0o600)
		creds, err := LoadCredentials(path)
		if c.err == "" {
			if err != nil || creds.BaseURL != "http://127.0.0.1:8091" || creds.Agencies[0].KeyType != "RSA2048" {
				t.Errorf("%s: %+v %v", c.name, creds, err)
			}
		} else if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.err)
		}
	}
	if _, err := LoadCredentials(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file accepted")
	}
}

func TestSamplePDF(t *testing.T) {
	for _, pages := range []int{0, 1, 3} {
		b := SamplePDF(pages)
		r, err := pdf.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("%d pages: %v", pages, err)
		}
		want := max(pages, 1)
		if n := r.NumPage(); n != want {
			t.Errorf("NumPage = %d, want %d", n, want)
		}
		if !bytes.HasSuffix(b, []byte("%%EOF\n")) {
			t.Error("no end-of-file marker")
		}
	}
}

func TestBaselineFor(t *testing.T) {
	for kt, want := range map[string]string{"RSA2048": BaselineRSA2048, "ecp256": BaselineP256, "ECP384": "", "": ""} {
		if got := BaselineFor(kt); got != want {
			t.Errorf("BaselineFor(%q) = %q, want %q", kt, got, want)
		}
	}
}
