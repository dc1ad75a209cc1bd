package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kyso/api"
	"kyso/auth"
	"kyso/problem"
	"kyso/store/storetest"
)

type testArea struct{}

func (testArea) Routes(r *api.Router) {
	r.Handle(http.MethodPost, "/test/echo", api.Roles(auth.RoleAgency), func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Name string `json:"name"`
		}
		if err := api.DecodeJSON(r, &body); err != nil {
			api.Fail(w, r, err)
			return
		}
		p, _ := auth.FromContext(r.Context())
		api.WriteJSON(w, http.StatusOK, map[string]string{"name": body.Name, "agency": p.AgencyCode})
	}, api.MaxBody(64))
	r.Handle(http.MethodGet, "/test/panic", api.Public, func(w http.ResponseWriter, r *http.Request) {
		panic("secret internals")
	})
	r.Handle(http.MethodGet, "/test/fail", api.Public, func(w http.ResponseWriter, r *http.Request) {
		api.Fail(w, r, errors.New("database password is hunter2"))
	})
	r.Handle(http.MethodGet, "/test/citizen", api.Roles(auth.RoleCitizen), func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.FromContext(r.Context())
		api.WriteJSON(w, http.StatusOK, map[string]string{"sub": p.Subject})
	})
}

type fakeAssertions struct{}

func (fakeAssertions) VerifyAssertion(ctx context.Context, raw string) (*auth.Assertion, error) {
	if raw != "good.jwt.token" {
		return nil, errors.New("bad signature")
	}
	return &auth.Assertion{Subject: "001099012345", Name: "NGUYEN VAN A", JTI: "j1", LoA: "substantial"}, nil
}

func setup(t *testing.T, ready ...api.Checker) (*httptest.Server, map[auth.Role]string) {
	t.Helper()
	db := storetest.SQLite(t)
	ctx := context.Background()
	ps, err := auth.NewPrincipals(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[auth.Role]string{}
	for _, req := range []auth.AddRequest{{Role: auth.RoleAgency, AgencyCode: "UBND-HN"}, {Role: auth.RoleOfficer}} {
		_, tok, err := ps.Add(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		tokens[req.Role] = tok
	}
	srv := httptest.NewServer(api.New(api.Deps{Principals: ps, Assertions: fakeAssertions{}, Ready: ready, Version: "test"}, testArea{}))
	t.Cleanup(srv.Close)
	return srv, tokens
}

func do(t *testing.T, method, url, token, ctype, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
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
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if m == nil {
		m = map[string]any{"_raw": string(b)}
	}
	return resp, m
}

func TestProblems(t *testing.T) {
	srv, tokens := setup(t)
	agency, officer := tokens[auth.RoleAgency], tokens[auth.RoleOfficer]
	cases := []struct {
		name, method, path, token, ctype, body string
		status                                 int
		code                                   string
	}{
		{"ok", "POST", "/test/echo", agency, "application/json", `{"name":"x"}`, 200, ""},
		{"no credentials", "POST", "/test/echo", "", "application/json", `{"name":"x"}`, 401, "unauthenticated"},
		{"bad token", "POST", "/test/echo", "kyso_0123456789abcdef_AAAA", "application/json", `{}`, 401, "unauthenticated"},
		{"wrong role", "POST", "/test/echo", officer, "application/json", `{"name":"x"}`, 403, "forbidden"},
		{"malformed body", "POST", "/test/echo", agency, "application/json", `{"name":`, 400, "malformed-body"},
		{"unknown field", "POST", "/test/echo", agency, "application/json", `{"nom":"x"}`, 400, "malformed-body"},
		{"wrong type", "POST", "/test/echo", agency, "application/json", `{"name":5}`, 400, "malformed-body"},
		{"two values", "POST", "/test/echo", agency, "application/json", `{"name":"a"}{"name":"b"}`, 400, "malformed-body"},
		{"empty body", "POST", "/test/echo", agency, "application/json", ``, 400, "malformed-body"},
		{"wrong content type", "POST", "/test/echo", agency, "text/plain", `{"name":"x"}`, 415, "unsupported-media-type"},
		{"oversized", "POST", "/test/echo", agency, "application/json", `{"name":"` + strings.Repeat("x", 100) + `"}`, 413, "body-too-large"},
		{"not found", "GET", "/nowhere", "", "", "", 404, "not-found"},
		{"method not allowed", "DELETE", "/healthz", "", "", "", 405, "method-not-allowed"},
		{"panic", "GET", "/test/panic", "", "", "", 500, "internal"},
		{"internal error", "GET", "/test/fail", "", "", "", 500, "internal"},
		{"basic auth scheme", "GET", "/v1/whoami", "", "", "", 401, "unauthenticated"},
		{"bad assertion", "GET", "/test/citizen", "bad.jwt.token", "", "", 401, "assertion-invalid"},
		{"citizen ok", "GET", "/test/citizen", "good.jwt.token", "", "", 200, ""},
		{"agency on citizen route", "GET", "/test/citizen", agency, "", "", 403, "forbidden"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, tc.method, srv.URL+tc.path, tc.token, tc.ctype, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, tc.status, body)
			}
			if resp.Header.Get("X-Request-ID") == "" {
				t.Error("no X-Request-ID")
			}
			if tc.code == "" {
				return
			}
			if ct := resp.Header.Get("Content-Type"); ct != problem.ContentType {
				t.Errorf("Content-Type %q", ct)
			}
			if body["code"] != tc.code || body["status"] != float64(tc.status) || !strings.HasSuffix(body["type"].(string), tc.code) {
				t.Errorf("problem %v, want code %s", body, tc.code)
			}
			raw, _ := json.Marshal(body)
			for _, leak := range []string{"secret internals", "hunter2", "goroutine", ".go:"} {
				if strings.Contains(string(raw), leak) {
					t.Errorf("problem leaks %q: %s", leak, raw)
				}
			}
		})
	}
}

func TestBasicAuthRefused(t *testing.T) {
	srv, _ := setup(t)
	req, _ := http.NewRequest("GET", srv.URL+"/v1/whoami", nil)
	req.SetBasicAuth("a", "b")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	failing := errors.New("down")
	var hsmErr error
	srv, tokens := setup(t, api.Checker{Name: "hsm", Check: func(context.Context) error { return hsmErr }})
	resp, body := do(t, "GET", srv.URL+"/healthz", "", "", "")
	if resp.StatusCode != 200 || body["status"] != "ok" {
		t.Fatalf("healthz %d %v", resp.StatusCode, body)
	}
	resp, _ = do(t, "GET", srv.URL+"/readyz", "", "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("readyz %d", resp.StatusCode)
	}
	hsmErr = failing
	resp, body = do(t, "GET", srv.URL+"/readyz", "", "", "")
	if resp.StatusCode != 503 || body["code"] != "not-ready" {
		t.Fatalf("readyz with failing hsm: %d %v", resp.StatusCode, body)
	}
	resp, body = do(t, "GET", srv.URL+"/v1/whoami", tokens[auth.RoleAgency], "", "")
	if resp.StatusCode != 200 || body["role"] != "agency" || body["agency"] != "UBND-HN" {
		t.Fatalf("whoami %d %v", resp.StatusCode, body)
	}
	resp, body = do(t, "GET", srv.URL+"/metrics", "", "", "")
	raw := body["_raw"].(string)
	if resp.StatusCode != 200 || !strings.Contains(raw, `kyso_http_requests_total{method="GET",route="/readyz",status="503"} 1`) {
		t.Fatalf("metrics:\n%s", raw)
	}
}

// Every route is described in the OpenAPI document, and docs/openapi.json
// is the served file.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	srv := api.New(api.Deps{})
	for _, rt := range srv.Routes() {
		ops, ok := doc.Paths[rt.Path]
		if !ok {
			t.Errorf("%s %s is not in openapi.json", rt.Method, rt.Path)
			continue
		}
		if _, ok := ops[strings.ToLower(rt.Method)]; !ok {
			t.Errorf("%s %s: method not in openapi.json", rt.Method, rt.Path)
		}
	}
	docs, err := os.ReadFile(filepath.Join("..", "docs", "openapi.json"))
	if err != nil {
		t.Fatalf("docs/openapi.json: %v", err)
	}
	if string(docs) != string(api.OpenAPI) {
		t.Fatal("docs/openapi.json differs from api/openapi.json: run make openapi")
	}
}
