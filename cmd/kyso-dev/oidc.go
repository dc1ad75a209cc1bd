package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"kyso/cmd/internal/appenv"
	"kyso/identity/federation/oidctest"
)

// The development provider's citizen: the demo's.
const (
	devOIDCUser     = "mai"
	devOIDCPassword = "vneid-dev"
)

// portalPage stands in for the public service portal the browser flow
// returns to: it shows the assertion Kyso put in the URL fragment.
const portalPage = `<!doctype html><html lang="vi"><meta charset="utf-8"><title>Cổng dịch vụ công (development)</title>
<body style="font-family:sans-serif;max-width:50rem;margin:2rem auto">
<h1>Đã đăng nhập bằng VNeID <small>(development provider)</small></h1>
<p>Kyso's identity assertion for this citizen (use it as <code>Authorization: Bearer …</code>):</p>
<textarea id="assertion" rows="8" style="width:100%" readonly></textarea>
<script>document.getElementById('assertion').value = new URLSearchParams(location.hash.slice(1)).get('assertion') || 'no assertion';</script>
</body></html>`

// runOIDCProvider runs a local OpenID provider standing in for VNeID and
// writes the configuration that makes the local Kyso its relying party.
func runOIDCProvider(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("oidc-provider", io.Err)
	configPath := fs.String("config", "", "Kyso configuration file (for data_dir and public_url)")
	listen := fs.String("listen", "127.0.0.1:8081", "address of the provider")
	out := fs.String("config-out", "", "where to write Kyso's identity.oidc configuration (default DATA_DIR/dev-oidc.yaml)")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	cfg, err := appenv.LoadConfig(*configPath, io.Env)
	if err != nil {
		return fail(io.Err, "oidc-provider", err)
	}
	if *out == "" {
		*out = filepath.Join(cfg.DataDir, "dev-oidc.yaml")
	}
	secret := rand.Text()
	secretFile := filepath.Join(filepath.Dir(*out), "dev-oidc.secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		return fail(io.Err, "oidc-provider", err)
	}
	portal := "http://" + *listen + "/portal"
	p, err := oidctest.Start(oidctest.Options{Listen: *listen, Dir: filepath.Dir(*out), ClientID: "kyso-dev", ClientSecret: secret,
		RedirectURIs: []string{cfg.PublicURL + "/v1/identity/oidc/vneid/callback"}, ACR: "vneid:level2",
		Citizens: []oidctest.Citizen{{ID: "001099008888", Username: devOIDCUser, Password: devOIDCPassword, Name: "Nguyễn Thị Mai"}},
		Pages: map[string]http.Handler{"/portal": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, portalPage)
		})}})
	if err != nil {
		return fail(io.Err, "oidc-provider", err)
	}
	defer p.Close()
	yaml := fmt.Sprintf(`# Written by kyso-dev oidc-provider: the local Kyso signs citizens in
# with the development OpenID provider standing in for VNeID.
identity:
  oidc:
    providers:
      - name: vneid
        issuer: %s
        client_id: kyso-dev
        client_secret_file: %s
        scopes: [profile]
        acr:
          "vneid:level2": {loa: substantial, id_level: "2"}
          "vneid:level1": {loa: low, id_level: "1"}
        redirect_uris: [%s]
`, p.URL, secretFile, portal)
	if err := os.WriteFile(*out, []byte(yaml), 0o600); err != nil {
		return fail(io.Err, "oidc-provider", err)
	}
	fmt.Fprintf(io.Out, "development OpenID provider (VNeID stand-in) on %s; user %q, password %q; Kyso configuration in %s\n",
		p.URL, devOIDCUser, devOIDCPassword, *out)
	<-ctx.Done()
	return exitOK
}
