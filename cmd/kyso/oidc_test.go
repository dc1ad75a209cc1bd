package main

import (
	"bytes"
	"context"
	"encoding/pem"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kyso/config"
	"kyso/identity/federation/oidctest"
)

// TestSignInWithVNeIDThenEnrolAndSign: a citizen signs in at an OpenID
// provider (a real one, on loopback) through Kyso's browser flow, gets an
// identity assertion, enrols a remote signing credential with it and signs
// a PDF that pdfsig validates; a level-1 account may not enrol.
func TestSignInWithVNeIDThenEnrolAndSign(t *testing.T) {
	for _, tool := range []string{"pdfsig", "certutil"} {
		requireTool(t, tool)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	const portal = "https://dichvucong.example/signed-in"
	op, err := oidctest.Start(oidctest.Options{Dir: t.TempDir(), ClientID: "kyso", ClientSecret: "s3cret",
		RedirectURIs: []string{base + "/v1/identity/oidc/vneid/callback"}, ACR: "level2",
		Citizens: []oidctest.Citizen{{ID: "079203004567", Username: "binh", Password: "verysecure", Name: "Trần Thị Bình"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	e := newTestEnvAt(t, base)
	secret := filepath.Join(t.TempDir(), "vneid.secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.cfg.Identity.OIDC.Providers = []config.OIDCProvider{{Name: "vneid", Issuer: op.URL, ClientID: "kyso", ClientSecretFile: secret,
		Scopes: []string{"profile"}, RedirectURIs: []string{portal},
		ACR: map[string]config.OIDCLevel{"level2": {LoA: "substantial", IDLevel: "2"}, "level1": {LoA: "low", IDLevel: "1"}}}}
	if err := e.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	b := startServer(t, e)
	ts := httptest.NewUnstartedServer(b.server)
	ts.Listener.Close()
	ts.Listener = ln
	ts.Start()
	defer ts.Close()

	signIn := func() string {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		var final *url.URL
		c := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), portal) {
				final = req.URL
				return http.ErrUseLastResponse
			}
			return nil
		}}
		resp, err := c.Get(base + "/v1/identity/oidc/vneid/start?redirect_uri=" + url.QueryEscape(portal))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp, err = op.LogIn(c, resp, "binh", "verysecure"); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if final == nil {
			t.Fatalf("the browser did not come back to the portal (%d)", resp.StatusCode)
		}
		frag, _ := url.ParseQuery(final.Fragment)
		return frag.Get("assertion")
	}

	// Level 1: signed in, but enrolling is refused.
	op.SetACR("level1")
	low := signIn()
	callRaw(t, "POST", base+"/v1/certificates", low, "application/json", []byte(`{"key":"remote","pin":"493817"}`), http.StatusForbidden)

	// Level 2: enrol a remote credential and sign a PDF.
	op.SetACR("level2")
	assertion := signIn()
	var raw map[string]any
	call(t, "POST", base+"/v1/certificates", assertion, "application/json", []byte(`{"key":"remote","pin":"493817"}`), http.StatusCreated, &raw)
	credID, _ := raw["credential_id"].(string)
	pdf, err := os.ReadFile(filepath.Join("..", "..", "docs", "examples", "application.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("file", "application.pdf")
	fw.Write(pdf)
	for k, v := range map[string]string{"credential_id": credID, "pin": "493817", "level": "B-LT"} {
		mw.WriteField(k, v)
	}
	mw.Close()
	signed := callRaw(t, "POST", base+"/v1/sign/pdf", assertion, mw.FormDataContentType(), mp.Bytes(), http.StatusOK)

	dir := t.TempDir()
	blk, _ := pem.Decode(callRaw(t, "GET", base+"/v1/ca/certificates", "", "", nil, http.StatusOK))
	root := filepath.Join(dir, "root.pem")
	os.WriteFile(root, pem.EncodeToMemory(blk), 0o600)
	signedPath := filepath.Join(dir, "signed.pdf")
	os.WriteFile(signedPath, signed, 0o600)
	nss := filepath.Join(dir, "nss")
	os.Mkdir(nss, 0o700)
	tool(t, "certutil", "-N", "-d", "sql:"+nss, "--empty-password")
	tool(t, "certutil", "-A", "-d", "sql:"+nss, "-n", "root", "-t", "CT,C,C", "-i", root)
	out := tool(t, "pdfsig", "-nssdir", "sql:"+nss, signedPath)
	if !strings.Contains(out, "Signature is Valid") || !strings.Contains(out, "Certificate is Trusted") || !strings.Contains(out, "Trần Thị Bình") {
		t.Fatalf("pdfsig:\n%s", out)
	}
	_ = context.Background()
}
