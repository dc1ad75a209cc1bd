package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"kyso/api"
	"kyso/auth"
	"kyso/ca/ceremony"
	"kyso/cmd/internal/appenv"
	"kyso/cmd/internal/devsetup"
	"kyso/config"
	"kyso/credential"
	"kyso/hsm/hsmtest"
	"kyso/store/storetest"
)

func runCLI(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), stdio{In: strings.NewReader(""), Out: &out, Err: &errb, Env: env}, args)
	return code, out.String(), errb.String()
}

func TestUsage(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "Commands:"},
		{[]string{"--help"}, exitOK, "serve"},
		{[]string{"nonsense"}, exitUsage, "unknown command"},
		{[]string{"serve", "--bogus"}, exitUsage, "flag provided but not defined"},
		{[]string{"serve", "extra"}, exitUsage, "unexpected argument"},
		{[]string{"version", "x"}, exitUsage, "usage"},
		{[]string{"principal"}, exitUsage, "Subcommands"},
		{[]string{"principal", "add"}, exitUsage, "--role is required"},
		{[]string{"audit", "frobnicate"}, exitUsage, "unknown subcommand"},
		{[]string{"verify"}, 3, ""},
		{[]string{"ca"}, exitUsage, "revoke"},
		{[]string{"ca", "--help"}, exitOK, "history"},
		{[]string{"ceremony"}, exitUsage, "rotate"},
	}
	for _, tc := range cases {
		code, out, errs := runCLI(t, nil, tc.args...)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("kyso %v: exit %d, output %q; want exit %d containing %q", tc.args, code, out+errs, tc.code, tc.want)
		}
	}
	// Every command of the tree is listed by --help.
	_, out, _ := runCLI(t, nil, "--help")
	for _, c := range []string{"serve", "version", "principal", "ceremony", "sign", "verify", "audit", "registry", "ca", "token"} {
		if !regexp.MustCompile(`(?m)^  ` + c + `\s`).MatchString(out) {
			t.Errorf("--help does not list %s", c)
		}
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	code, _, errs := runCLI(t, []string{"KYSO_HSM_POOL_SIZE=0"}, "principal", "list")
	if code != exitFail || !strings.Contains(errs, "hsm.pool_size") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

func TestPrincipalAddPrintsTokenOnce(t *testing.T) {
	dir := t.TempDir()
	env := []string{"KYSO_DATA_DIR=" + dir}
	code, out, errs := runCLI(t, env, "principal", "add", "--role", "agency", "--agency", "SOTP-HCM", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(out), &got); err != nil || !strings.HasPrefix(got["token"], auth.TokenPrefix) {
		t.Fatalf("output %q", out)
	}
	code, out, _ = runCLI(t, env, "principal", "list")
	if code != exitOK || !strings.Contains(out, "SOTP-HCM") || strings.Contains(out, got["token"]) {
		t.Fatalf("list: %d %q", code, out)
	}
	if code, _, errs := runCLI(t, env, "principal", "add", "--role", "agency"); code != exitFail || !strings.Contains(errs, "agency code") {
		t.Fatalf("agency without code: %d %s", code, errs)
	}
}

// newTestEnv opens a fresh SoftHSM token and SQLite store and runs the dev
// ceremony on them.
func newTestEnv(t *testing.T) *env {
	t.Helper()
	return newTestEnvAt(t, "")
}

// startServer builds the server as kyso serve does and stops its
// background work when the test ends.
func startServer(t *testing.T, e *env) *built {
	t.Helper()
	b, err := buildServer(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.stop)
	return b
}

// newTestEnvAt is newTestEnv with the public URL certificates point to.
func newTestEnvAt(t *testing.T, publicURL string) *env {
	t.Helper()
	cfg := config.Default()
	if publicURL != "" {
		cfg.PublicURL = publicURL
	}
	dir := t.TempDir()
	cfg.DataDir = dir
	cfg.Identity.CSCADir = filepath.Join(dir, "trust", "csca")
	cfg.CA.PEMDir = filepath.Join(dir, "pki")
	reg := prometheus.NewRegistry()
	hcfg := hsmtest.NewToken(t)
	hcfg.KeyMetricLabel = keyMetricLabel
	e := &env{cfg: cfg, log: newLogger(cfg, os.Stderr), registry: reg, db: storetest.SQLite(t), hsm: hsmtest.Open(t, hcfg, reg),
		citizen: hsmtest.Open(t, hsmtest.NewToken(t), reg)}
	if _, err := credential.NewKeys(credential.NewStore(e.db), e.citizen, "").EnsureSecret(context.Background()); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := devsetup.Ceremony(context.Background(), &out, e.app()); err != nil {
		t.Fatalf("dev ceremony: %v\n%s", err, out.String())
	}
	return e
}

// Every route of the full server is described in the OpenAPI document.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	srv := startServer(t, newTestEnv(t)).server
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	regex := regexp.MustCompile(`\{([^}:]+):[^}]*\}`)
	described := map[string]bool{}
	for _, rt := range srv.Routes() {
		path := regex.ReplaceAllString(rt.Path, "{$1}")
		described[path] = true
		if _, ok := doc.Paths[path][strings.ToLower(rt.Method)]; !ok {
			t.Errorf("%s %s is not described in api/openapi.json", rt.Method, path)
		}
	}
	for path := range doc.Paths {
		if !described[path] {
			t.Errorf("api/openapi.json describes %s, which no route serves", path)
		}
	}
	// The server answers on the wired routes.
	ts := httptest.NewServer(srv)
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/v1/ca/certificates")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /v1/ca/certificates: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestDevCeremonyIsIdempotent(t *testing.T) {
	e := newTestEnv(t)
	var out bytes.Buffer
	if err := devsetup.Ceremony(context.Background(), &out, e.app()); err != nil {
		t.Fatalf("second run: %v", err)
	}
	if !strings.Contains(out.String(), "already done") {
		t.Fatalf("second run output: %s", out.String())
	}
	if _, err := ceremony.InitIfNeeded(context.Background(), ceremony.DevConfig(), e.hsm, e.db, &out); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(e.cfg.Identity.CSCADir)
	if len(entries) == 0 {
		t.Fatal("dev setup wrote no test CSCA")
	}
}

// app is the environment as the shared packages see it.
func (e *env) app() *appenv.Env {
	return &appenv.Env{Config: e.cfg, Log: e.log, DB: e.db, HSM: e.hsm, Registry: e.registry}
}
