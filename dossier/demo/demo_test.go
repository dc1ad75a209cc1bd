package demo_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"kyso/api"
	"kyso/audit"
	"kyso/auth"
	certstest "kyso/certs-test"
	"kyso/dossier"
	"kyso/dossier/demo"
	"kyso/dossier/dossiertest"
	"kyso/signer/pades"
	"kyso/signer/signertest"
	"kyso/store/storetest"
	"kyso/verifier"
)

type assertions map[string]string

func (a assertions) VerifyAssertion(ctx context.Context, raw string) (*auth.Assertion, error) {
	if id, ok := a[raw]; ok {
		return &auth.Assertion{Subject: id, Name: demo.DemoCitizen.Name, JTI: raw, LoA: "substantial"}, nil
	}
	return nil, errors.New("unknown assertion")
}

// stubs stands in for the identity, CA, signer and verifier endpoints
// (their own tests cover them) around the real dossier area, following
// their documented request and response shapes.
type stubs struct {
	t         *testing.T
	mu        sync.Mutex
	nonces    map[string][]byte
	citizen   dossiertest.Entity
	pki       *dossiertest.CitizenPKI
	sealer    *dossiertest.Sealer
	verifier  *verifier.Verifier
	dossiers  http.Handler
	refuseJWS bool
	calls     []string
}

func (s *stubs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls = append(s.calls, r.Method+" "+r.URL.Path)
	s.mu.Unlock()
	write := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	switch r.URL.Path {
	case "/v1/identity/challenges":
		nonce := make([]byte, 8)
		_, _ = rand.Read(nonce)
		s.mu.Lock()
		s.nonces["c1"] = nonce
		s.mu.Unlock()
		write(201, map[string]any{"challenge_id": "c1", "nonce": base64.StdEncoding.EncodeToString(nonce)})
	case "/v1/identity/verifications":
		var req map[string]string
		_ = json.NewDecoder(r.Body).Decode(&req)
		for _, f := range []string{"challenge_id", "sod", "dg1", "dg13", "dg15", "aa_signature"} {
			if req[f] == "" {
				write(400, map[string]any{"code": "malformed-input", "detail": f + " missing"})
				return
			}
		}
		write(201, map[string]any{"assertion": "citizen.jwt", "claims": map[string]any{"loa": "high"}})
	case "/v1/certificates":
		var req map[string]string
		_ = json.NewDecoder(r.Body).Decode(&req)
		if r.Header.Get("Authorization") != "Bearer citizen.jwt" || req["key"] != "remote" || req["pin"] == "" {
			write(400, map[string]any{"code": "bad-request"})
			return
		}
		write(201, map[string]any{"serial": "01AB", "credential_id": "cred-1", "issuer": "Test Citizen CA", "not_after": "2029-01-01T00:00:00Z"})
	case "/v1/sign/jws":
		s.mu.Lock()
		refuse := s.refuseJWS
		s.refuseJWS = false
		s.mu.Unlock()
		if refuse {
			write(401, map[string]any{"code": "assertion-replayed"})
			return
		}
		var req struct {
			Payload      json.RawMessage `json:"payload"`
			CredentialID string          `json:"credential_id"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		if req.CredentialID != "cred-1" {
			write(404, map[string]any{"code": "not-found"})
			return
		}
		w.Header().Set("Content-Type", "application/jose")
		_, _ = io.WriteString(w, s.citizen.SignJWS(s.t, req.Payload))
	case "/v1/sign/pdf":
		if err := r.ParseMultipartForm(32 << 20); err != nil || r.FormValue("credential_id") != "cred-1" || r.FormValue("visible") != "true" {
			write(400, map[string]any{"code": "bad-request"})
			return
		}
		f, _, err := r.FormFile("file")
		if err != nil {
			write(400, map[string]any{"code": "missing-file"})
			return
		}
		doc, _ := io.ReadAll(f)
		num := func(k string) float64 { v, _ := strconv.ParseFloat(r.FormValue(k), 64); return v }
		page, _ := strconv.Atoi(r.FormValue("page"))
		var out bytes.Buffer
		err = pades.Sign(r.Context(), bytes.NewReader(doc), int64(len(doc)), &out, pades.Options{Level: pades.BLT,
			Signer: s.citizen.Key, Cert: s.citizen.Cert, Chain: s.citizen.Chain, Root: s.pki.Root.Cert, Hash: crypto.SHA256,
			Reason: r.FormValue("reason"), Location: r.FormValue("location"), Stamper: s.sealer.TSA, Revocation: s.pki,
			Appearance: &pades.Appearance{Page: page, X: num("x"), Y: num("y"), Width: num("width"), Height: num("height")}})
		if err != nil {
			write(422, map[string]any{"code": "cannot-sign", "detail": err.Error()})
			return
		}
		w.Header().Set("Content-Type", "application/pdf")
		_, _ = w.Write(out.Bytes())
	case "/v1/verify":
		b, _ := io.ReadAll(r.Body)
		rep, err := s.verifier.Verify(r.Context(), verifier.Input{Data: b})
		if err != nil {
			write(422, map[string]any{"code": "unreadable-document"})
			return
		}
		write(200, rep)
	default:
		s.dossiers.ServeHTTP(w, r)
	}
}

func TestRun(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	chipDir := filepath.Join(t.TempDir(), "chip")
	if err := certstest.WriteChip(chipDir, demo.DemoCitizen); err != nil {
		t.Fatal(err)
	}
	pki := dossiertest.NewCitizenPKI(t)
	sealer := dossiertest.NewSealer(t, db)
	log, err := audit.New(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	svc, err := dossier.New(ctx, dossier.Config{DB: db, Audit: log, EventKey: key, Sealer: sealer, Forms: pki.Forms()})
	if err != nil {
		t.Fatal(err)
	}
	if err := dossier.SeedDemoAgencies(ctx, svc.Agencies()); err != nil {
		t.Fatal(err)
	}
	ps, err := auth.NewPrincipals(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	rec, token, err := ps.Add(ctx, auth.AddRequest{Role: auth.RoleAgency, AgencyCode: "UBND-HN"})
	if err != nil {
		t.Fatal(err)
	}
	trusting := verifier.New(verifier.Options{Roots: []*x509.Certificate{sealer.PKI.Root.Cert, pki.Root.Cert}})
	check, err := api.NewResultCheckArea(svc, trusting, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := &stubs{t: t, nonces: map[string][]byte{}, refuseJWS: true, pki: pki, sealer: sealer,
		citizen:  pki.Citizen(t, demo.DemoCitizen.ID, demo.DemoCitizen.Name),
		verifier: trusting,
		dossiers: api.New(api.Deps{Principals: ps, Assertions: assertions{"citizen.jwt": demo.DemoCitizen.ID}}, api.NewDossierArea(svc, nil), check),
	}
	srv := httptest.NewServer(st)
	defer srv.Close()
	creds, _ := json.Marshal(demo.Credentials{BaseURL: srv.URL, Agency: demo.Principal{ID: rec.ID, Agency: "UBND-HN", Token: token}})
	credsFile := filepath.Join(t.TempDir(), "dev-credentials.json")
	if err := os.WriteFile(credsFile, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	outDir := t.TempDir()
	if err := demo.Run(ctx, demo.Options{CredentialsFile: credsFile, ChipDir: chipDir, Out: &out, OutDir: outDir}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Logf("\n%s", out.String())
	for _, want := range []string{"chip verified", "free signing certificate", "step 1 submitted", "step 2 received by UBND-HN with 1 digitized",
		"step 3 processed: decision approve", "step 4 result signed", "step 5 returned", "acknowledged receipt: dossier acknowledged",
		"third-party verification: TOTAL-PASSED", "assertion refused (assertion-replayed)",
		"step 3 processed: decision approve by Trần Văn Bình (Phó Chủ tịch)", "e-result 1/KQ-UBND-HN sealed",
		"/verify/r/dos_", ": TOTAL-PASSED", "citizen Nguyễn Thị Mai signed the e-result with a visible stamp: TOTAL-PASSED", "demo complete"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// The e-result and the citizen's stamp read exactly in poppler.
	pdftotext := signertest.NeedTool(t, "pdftotext")
	for file, wants := range map[string][]string{
		"e-result.pdf":        {"KẾT QUẢ", "Nguyễn Thị Mai", "Trần Văn Bình"},
		"e-result-signed.pdf": {"Ký bởi: Nguyễn Thị Mai", "Lý do: Đã nhận kết quả"},
	} {
		text, err := exec.Command(pdftotext, filepath.Join(outDir, file), "-").Output()
		if err != nil {
			t.Fatalf("pdftotext %s: %v", file, err)
		}
		for _, want := range wants {
			if !strings.Contains(string(text), want) {
				t.Errorf("%s lacks %q:\n%s", file, want, text)
			}
		}
	}

	page, err := svc.List(ctx, &auth.Principal{Role: auth.RoleOfficer}, dossier.ListQuery{State: dossier.StateAcknowledged})
	if err != nil || len(page.Dossiers) != 1 {
		t.Fatalf("acknowledged dossiers: %v %d", err, len(page.Dossiers))
	}

	// A result that does not validate fails the demo.
	st.verifier = verifier.New(verifier.Options{})
	out.Reset()
	if err := demo.Run(ctx, demo.Options{CredentialsFile: credsFile, ChipDir: chipDir, Out: &out}); err == nil || !strings.Contains(err.Error(), "not TOTAL-PASSED") {
		t.Fatalf("untrusted seal: %v\n%s", err, out.String())
	}
}

func TestRunNeedsCredentials(t *testing.T) {
	err := demo.Run(context.Background(), demo.Options{CredentialsFile: filepath.Join(t.TempDir(), "none.json"), ChipDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "kyso-dev dev setup") {
		t.Fatalf("missing credentials: %v", err)
	}
}

func TestPrepareChip(t *testing.T) {
	dir := t.TempDir()
	chip, trust := filepath.Join(dir, "chip"), filepath.Join(dir, "trust", "csca")
	if err := demo.PrepareChip(chip, trust); err != nil {
		t.Fatal(err)
	}
	card, _ := os.ReadFile(filepath.Join(chip, "card.json"))
	if err := demo.PrepareChip(chip, trust); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(filepath.Join(chip, "card.json"))
	a, _ := os.ReadFile(filepath.Join(chip, "csca.pem"))
	b, err := os.ReadFile(filepath.Join(trust, "demo-csca.pem"))
	if err != nil || !bytes.Equal(a, b) || !bytes.Equal(card, again) || !strings.Contains(string(card), demo.DemoCitizen.ID) {
		t.Fatalf("chip not prepared once and trusted: %v", err)
	}
}

// TestRunLive runs the demo against a running server when
// KYSO_DEMO_CREDENTIALS names its dev credentials file (KYSO_DEMO_CHIP_DIR
// optionally names the card directory).
func TestRunLive(t *testing.T) {
	creds := os.Getenv("KYSO_DEMO_CREDENTIALS")
	if creds == "" {
		t.Skip("KYSO_DEMO_CREDENTIALS not set: no live server to run the demo against")
	}
	chip := os.Getenv("KYSO_DEMO_CHIP_DIR")
	if chip == "" {
		chip = filepath.Join(t.TempDir(), "chip")
	}
	var out bytes.Buffer
	err := demo.Run(context.Background(), demo.Options{CredentialsFile: creds, ChipDir: chip, Out: &out})
	t.Logf("\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
}
