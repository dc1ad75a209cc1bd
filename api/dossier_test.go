package api_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"kyso/api"
	"kyso/audit"
	"kyso/audit/audittest"
	"kyso/auth"
	"kyso/dossier"
	"kyso/dossier/dossiertest"
	"kyso/store"
	"kyso/store/storetest"
	"kyso/verifier"
	"kyso/verifier/report"
)

// citizenTokens are bearer assertions the fake verifier accepts.
type citizenTokens map[string]string

func (c citizenTokens) VerifyAssertion(ctx context.Context, raw string) (*auth.Assertion, error) {
	id, ok := c[raw]
	if !ok {
		return nil, errors.New("unknown assertion")
	}
	return &auth.Assertion{Subject: id, Name: "Citizen " + id, JTI: raw, LoA: "substantial"}, nil
}

const (
	aliceID = "001099012345"
	bobID   = "001099054321"
)

type dossierEnv struct {
	url    string
	tok    map[string]string
	pki    *dossiertest.CitizenPKI
	alice  dossiertest.Entity
	sealer *dossiertest.Sealer
	log    *audit.Log
	logKey note.Verifier
	key    *ecdsa.PrivateKey
	svc    *dossier.Service
	db     *store.DB
	ps     *auth.Principals
}

func newDossierEnv(t *testing.T, db *store.DB) *dossierEnv {
	t.Helper()
	ctx := context.Background()
	e := &dossierEnv{db: db, tok: map[string]string{"alice": "alice.jwt", "bob": "bob.jwt"}}
	ps, err := auth.NewPrincipals(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	e.ps = ps
	for name, req := range map[string]auth.AddRequest{
		"hn":      {Role: auth.RoleAgency, AgencyCode: "UBND-HN", Name: "Ha Noi desk"},
		"bd":      {Role: auth.RoleAgency, AgencyCode: "UBND-HN-BD", Name: "Ba Dinh desk"},
		"hcm":     {Role: auth.RoleAgency, AgencyCode: "UBND-HCM", Name: "HCM desk"},
		"officer": {Role: auth.RoleOfficer, Name: "officer"},
		"admin":   {Role: auth.RoleAdmin, Name: "admin"},
	} {
		_, tok, err := ps.Add(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		e.tok[name] = tok
	}
	var signer note.Signer
	signer, e.logKey = audittest.Key(t)
	if e.log, err = audit.New(ctx, db, signer); err != nil {
		t.Fatal(err)
	}
	e.pki = dossiertest.NewCitizenPKI(t)
	e.alice = e.pki.Citizen(t, aliceID, "NGUYEN VAN A")
	e.sealer = dossiertest.NewSealer(t, db)
	e.key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	e.svc, err = dossier.New(ctx, dossier.Config{DB: db, Audit: e.log, EventKey: e.key, Sealer: e.sealer, Forms: e.pki.Forms()})
	if err != nil {
		t.Fatal(err)
	}
	if err := dossier.SeedDemoAgencies(ctx, e.svc.Agencies()); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Agencies().Upsert(ctx, dossier.Agency{Code: "UBND-HCM", Name: "Ho Chi Minh", Level: dossier.LevelProvince}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Deps{Principals: ps, Assertions: citizenTokens{"alice.jwt": aliceID, "bob.jwt": bobID}},
		api.NewDossierArea(e.svc, slog.New(slog.NewTextHandler(os.Stderr, nil)))))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

type reply struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (r reply) str(k string) string { s, _ := r.json[k].(string); return s }

func (e *dossierEnv) call(t *testing.T, who, method, path, ctype string, body []byte) reply {
	t.Helper()
	req, _ := http.NewRequest(method, e.url+path, bytes.NewReader(body))
	if tok := e.tok[who]; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, body: b}
	_ = json.Unmarshal(b, &r.json)
	return r
}

func (e *dossierEnv) json(t *testing.T, who, method, path string, v any) reply {
	t.Helper()
	var b []byte
	ctype := ""
	if v != nil {
		b, _ = json.Marshal(v)
		ctype = "application/json"
	}
	return e.call(t, who, method, path, ctype, b)
}

func expect(t *testing.T, r reply, status int, what string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.status, status, r.body)
	}
}

func (e *dossierEnv) form(t *testing.T, signer dossiertest.Entity) string {
	payload, _ := json.Marshal(map[string]any{"procedure_code": "1.001234", "applicant": aliceID, "fields": map[string]string{"purpose": "birth registration"}})
	return signer.SignJWS(t, payload)
}

func (e *dossierEnv) submit(t *testing.T) string {
	t.Helper()
	r := e.json(t, "alice", "POST", "/v1/dossiers", map[string]any{
		"procedure_code": "1.001234", "agency_code": "UBND-HN", "form": map[string]any{"jws": e.form(t, e.alice)},
		"attachments": []map[string]any{{"name": "household.pdf", "content_type": "application/pdf", "data": []byte("%PDF-1.4 household")}},
	})
	expect(t, r, 201, "submit")
	return r.str("id")
}

func multipartBody(t *testing.T, fields map[string]string, files map[string][]string) ([]byte, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	for part, names := range files {
		for _, n := range names {
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, part, n))
			h.Set("Content-Type", "image/png")
			pw, _ := w.CreatePart(h)
			_, _ = pw.Write([]byte("scan of " + n))
		}
	}
	_ = w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

// The whole journey over HTTP: signed submission, receipt with sealed
// digitized inputs, a supplement round, decision, sealed e-result (PAdES
// B-LT, validated TOTAL-PASSED), return, acknowledgement; the history is
// sealed and the audit chain verifies.
func TestDossierJourneyHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newDossierEnv(t, db)
		ctx := context.Background()
		id := e.submit(t)

		// Visibility: a stranger's dossier is a 404.
		expect(t, e.call(t, "bob", "GET", "/v1/dossiers/"+id, "", nil), 404, "other citizen reads")
		expect(t, e.call(t, "hcm", "GET", "/v1/dossiers/"+id, "", nil), 404, "other agency reads")
		expect(t, e.call(t, "bd", "GET", "/v1/dossiers/"+id, "", nil), 404, "child agency reads")
		expect(t, e.call(t, "officer", "GET", "/v1/dossiers/"+id, "", nil), 200, "officer reads")
		expect(t, e.call(t, "admin", "GET", "/v1/dossiers/"+id+"/attachments/household.pdf", "", nil), 200, "admin downloads")

		// Step 2: receive with digitized inputs (multipart).
		body, ctype := multipartBody(t, map[string]string{"note": "paper copies scanned"}, map[string][]string{"digitized": {"birth-cert.png", "household-book.png"}})
		r := e.call(t, "hn", "POST", "/v1/dossiers/"+id+"/receive", ctype, body)
		expect(t, r, 200, "receive")
		if r.str("state") != "received" || r.json["digitized_inputs"] != true {
			t.Fatalf("after receive: %s", r.body)
		}
		r = e.call(t, "alice", "GET", "/v1/dossiers/"+id, "", nil)
		var view struct {
			Files []struct {
				Name, Kind, SHA256 string
				Seal, SealCert     []byte `json:"-"`
				SealB64            string `json:"seal"`
				SealCertB64        string `json:"seal_cert"`
			} `json:"files"`
			Events []struct {
				Seq       int64  `json:"seq"`
				Action    string `json:"action"`
				Signature string `json:"signature"`
			} `json:"events"`
		}
		if err := json.Unmarshal(r.body, &view); err != nil {
			t.Fatal(err)
		}
		sealed := 0
		for _, f := range view.Files {
			if f.Kind != "digitized" {
				continue
			}
			sealed++
			sig, _ := base64.StdEncoding.DecodeString(f.SealB64)
			certDER, _ := base64.StdEncoding.DecodeString(f.SealCertB64)
			cert, err := x509.ParseCertificate(certDER)
			if err != nil {
				t.Fatalf("seal cert of %s: %v", f.Name, err)
			}
			got := e.call(t, "alice", "GET", "/v1/dossiers/"+id+"/attachments/"+f.Name, "", nil)
			expect(t, got, 200, "download "+f.Name)
			sum := sha256.Sum256(got.body)
			if hex.EncodeToString(sum[:]) != f.SHA256 || !ecdsa.VerifyASN1(cert.PublicKey.(*ecdsa.PublicKey), sum[:], sig) {
				t.Fatalf("digitized %s: hash or seal does not verify", f.Name)
			}
		}
		if sealed != 2 {
			t.Fatalf("%d sealed digitized files", sealed)
		}

		// Supplement round.
		expect(t, e.json(t, "hn", "POST", "/v1/dossiers/"+id+"/request-supplement", map[string]string{"note": "add the marriage certificate"}), 200, "request supplement")
		r = e.json(t, "alice", "POST", "/v1/dossiers/"+id+"/supplement", map[string]any{
			"attachments": []map[string]any{{"name": "marriage.pdf", "content_type": "application/pdf", "data": []byte("%PDF-1.4 marriage")}}})
		expect(t, r, 200, "supplement")
		if r.str("state") != "received" {
			t.Fatalf("after supplement: %s", r.str("state"))
		}

		// Step 3: decisions.
		expect(t, e.json(t, "hn", "POST", "/v1/dossiers/"+id+"/decisions", map[string]string{"decision": "note", "note": "documents complete"}), 200, "note")
		r = e.json(t, "hn", "POST", "/v1/dossiers/"+id+"/decisions", map[string]string{"decision": "approve", "note": "conditions met"})
		expect(t, r, 200, "approve")
		if r.str("state") != "processed" {
			t.Fatalf("after approve: %s", r.str("state"))
		}

		// Step 4: sealed result generated from the decision.
		r = e.call(t, "hn", "POST", "/v1/dossiers/"+id+"/result", "", nil)
		expect(t, r, 200, "sign result")
		if r.str("state") != "result_signed" {
			t.Fatalf("after result: %s", r.body)
		}
		expect(t, e.call(t, "alice", "GET", "/v1/dossiers/"+id+"/result", "", nil), 404, "citizen downloads before return")

		// Step 5: return, download, acknowledge.
		expect(t, e.call(t, "hn", "POST", "/v1/dossiers/"+id+"/return", "", nil), 200, "return")
		res := e.call(t, "alice", "GET", "/v1/dossiers/"+id+"/result", "", nil)
		expect(t, res, 200, "download result")
		if ct := res.header.Get("Content-Type"); ct != "application/pdf" {
			t.Fatalf("result content type %q", ct)
		}
		v := verifier.New(verifier.Options{Roots: []*x509.Certificate{e.sealer.PKI.Root.Cert}})
		rep, err := v.Verify(ctx, verifier.Input{Name: "result.pdf", Data: res.body})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Status.MainIndication != report.TotalPassed || len(rep.Signatures) == 0 {
			t.Fatalf("e-result validation: %+v", rep.Status)
		}
		if lvl := rep.Signatures[0].Level; lvl != "PAdES-BASELINE-LT" && lvl != "PAdES-BASELINE-LTA" {
			t.Errorf("e-result level %q, want B-LT or better", lvl)
		}
		r = e.call(t, "alice", "POST", "/v1/dossiers/"+id+"/acknowledge", "", nil)
		expect(t, r, 200, "acknowledge")
		if r.str("state") != "acknowledged" {
			t.Fatalf("after acknowledge: %s", r.str("state"))
		}

		r = e.call(t, "alice", "GET", "/v1/dossiers/"+id, "", nil)
		view.Events = nil
		_ = json.Unmarshal(r.body, &view)
		var actions []string
		for _, ev := range view.Events {
			actions = append(actions, ev.Action)
		}
		want := "submit receive request-supplement supplement decide decide sign-result return acknowledge"
		if strings.Join(actions, " ") != want {
			t.Fatalf("history %v, want %s", actions, want)
		}
		if err := e.svc.VerifyEvents(ctx, id, &e.key.PublicKey); err != nil {
			t.Fatal(err)
		}
		if arep := audittest.Verify(t, e.log, e.logKey); arep.Entries != 10 { // nine steps and the citizen's download
			t.Fatalf("audit: %+v", arep)
		}

		// Lists and filters.
		r = e.call(t, "alice", "GET", "/v1/dossiers?state=acknowledged&procedure_code=1.001234&page_size=10", "", nil)
		expect(t, r, 200, "list")
		if n := len(r.json["dossiers"].([]any)); n != 1 {
			t.Fatalf("citizen list has %d", n)
		}
		r = e.call(t, "bob", "GET", "/v1/dossiers", "", nil)
		if n := len(r.json["dossiers"].([]any)); n != 0 {
			t.Fatalf("other citizen lists %d", n)
		}
		r = e.call(t, "hn", "GET", "/v1/dossiers?from=2000-01-01&to=2999-01-01", "", nil)
		if n := len(r.json["dossiers"].([]any)); n != 1 {
			t.Fatalf("agency queue has %d", n)
		}
		expect(t, e.call(t, "hn", "GET", "/v1/dossiers?from=yesterday", "", nil), 400, "bad from")

		// Report over HTTP.
		r = e.call(t, "hn", "GET", "/v1/reports/five-step?format=csv", "", nil)
		expect(t, r, 200, "csv report")
		if !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") || !strings.Contains(string(r.body), "agency,UBND-HN,Ủy ban nhân dân thành phố Hà Nội,province,,") {
			t.Fatalf("csv report: %s %s", r.header.Get("Content-Type"), r.body)
		}
		r = e.call(t, "officer", "GET", "/v1/reports/five-step?from=2000-01-01&format=json", "", nil)
		expect(t, r, 200, "json report")
		if total := r.json["total"].(map[string]any); total["received_online"] != float64(1) || total["results_returned"] != float64(1) {
			t.Fatalf("json report total: %v", total)
		}
		expect(t, e.call(t, "alice", "GET", "/v1/reports/five-step", "", nil), 403, "citizen report")
	})
}

// Illegal transitions, wrong roles and bad forms over HTTP.
func TestDossierRefusalsHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newDossierEnv(t, db)
		id := e.submit(t)
		p := "/v1/dossiers/" + id
		cases := []struct {
			name, who, method, path string
			body                    any
			status                  int
			code                    string
		}{
			{"return before result", "hn", "POST", p + "/return", nil, 409, "illegal-transition"},
			{"result before decision", "hn", "POST", p + "/result", nil, 409, "illegal-transition"},
			{"decide before receipt", "hn", "POST", p + "/decisions", map[string]string{"decision": "approve"}, 409, "illegal-transition"},
			{"acknowledge early", "alice", "POST", p + "/acknowledge", nil, 409, "illegal-transition"},
			{"supplement unasked", "alice", "POST", p + "/supplement", map[string]any{"attachments": []map[string]any{{"name": "x.pdf", "data": []byte("x")}}}, 409, "illegal-transition"},
			{"citizen receives", "alice", "POST", p + "/receive", nil, 403, "forbidden"},
			{"officer receives", "officer", "POST", p + "/receive", nil, 403, "forbidden"},
			{"admin rejects", "admin", "POST", p + "/reject", map[string]string{"reason": "x"}, 403, "forbidden"},
			{"agency acknowledges", "hn", "POST", p + "/acknowledge", nil, 403, "forbidden"},
			{"agency submits", "hn", "POST", "/v1/dossiers", map[string]any{}, 403, "forbidden"},
			{"other agency receives", "hcm", "POST", p + "/receive", nil, 404, "not-found"},
			{"other citizen acknowledges", "bob", "POST", p + "/acknowledge", nil, 404, "not-found"},
			{"other citizen downloads", "bob", "GET", p + "/attachments/household.pdf", nil, 404, "not-found"},
			{"anonymous", "", "GET", p, nil, 401, "unauthenticated"},
			{"unknown decision", "hn", "POST", p + "/decisions", map[string]string{"decision": "maybe"}, 400, "invalid-request"},
			{"unknown field", "hn", "POST", p + "/reject", map[string]string{"why": "x"}, 400, "malformed-body"},
			{"missing file", "alice", "GET", p + "/attachments/nothing.pdf", nil, 404, "not-found"},
			{"unknown dossier", "officer", "GET", "/v1/dossiers/dos_000000000000000000000000", nil, 404, "not-found"},
			{"bad page size", "officer", "GET", "/v1/dossiers?page_size=1000", nil, 400, "invalid-request"},
			{"bad format", "officer", "GET", "/v1/reports/five-step?format=xml", nil, 400, "invalid-request"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := e.json(t, tc.who, tc.method, tc.path, tc.body)
				if r.status != tc.status || r.str("code") != tc.code {
					t.Fatalf("%d %s, want %d %s: %s", r.status, r.str("code"), tc.status, tc.code, r.body)
				}
				if tc.code == "illegal-transition" && r.str("state") != "submitted" {
					t.Fatalf("problem without current state: %s", r.body)
				}
			})
		}
		// Forms: signed by someone else, untrusted, tampered, missing.
		bob := e.pki.Citizen(t, bobID, "TRAN THI B")
		stranger := dossiertest.NewCitizenPKI(t).Citizen(t, aliceID, "NGUYEN VAN A")
		good := e.form(t, e.alice)
		parts := strings.Split(good, ".")
		tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"procedure_code":"other"}`)) + "." + parts[2]
		for _, fc := range []struct {
			name, jws, code string
		}{
			{"other citizen's certificate", e.form(t, bob), "form-signer-mismatch"},
			{"untrusted CA", e.form(t, stranger), "form-signature-invalid"},
			{"tampered payload", tampered, "form-signature-invalid"},
			{"not a JWS", "hello", "form-signature-invalid"},
		} {
			r := e.json(t, "alice", "POST", "/v1/dossiers", map[string]any{"procedure_code": "1.001234", "agency_code": "UBND-HN", "form": map[string]any{"jws": fc.jws}})
			if r.status != 422 || r.str("code") != fc.code {
				t.Errorf("%s: %d %s, want 422 %s", fc.name, r.status, r.str("code"), fc.code)
			}
		}
		r := e.json(t, "alice", "POST", "/v1/dossiers", map[string]any{"procedure_code": "1.001234", "agency_code": "UBND-HN", "form": map[string]any{"pdf": []byte("%PDF-1.7")}})
		if r.status != 422 || r.str("code") != "form-signature-invalid" {
			t.Errorf("unreadable PDF form: %d %s", r.status, r.body)
		}
		// Multipart submission with a JWS form field and attachments.
		body, ctype := multipartBody(t, map[string]string{"procedure_code": "1.000002", "agency_code": "UBND-HN-BD", "form_jws": good},
			map[string][]string{"attachments": {"photo.png"}})
		r = e.call(t, "alice", "POST", "/v1/dossiers", ctype, body)
		expect(t, r, 201, "multipart submit")
		if r.str("agency_code") != "UBND-HN-BD" || r.header.Get("Location") != "/v1/dossiers/"+r.str("id") {
			t.Fatalf("multipart submit: %s", r.body)
		}
		// An uploaded result PDF is sealed as is; a non-PDF is refused.
		bd := r.str("id")
		expect(t, e.call(t, "bd", "POST", "/v1/dossiers/"+bd+"/receive", "", nil), 200, "receive without scans")
		expect(t, e.json(t, "bd", "POST", "/v1/dossiers/"+bd+"/decisions", map[string]string{"decision": "deny", "note": "not eligible"}), 200, "deny")
		expect(t, e.call(t, "bd", "POST", "/v1/dossiers/"+bd+"/result", "application/pdf", []byte("not a pdf")), 400, "non-PDF result")
		expect(t, e.call(t, "bd", "POST", "/v1/dossiers/"+bd+"/result", "", nil), 200, "deny result")
	})
}
