package api_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"kyso/api"
	"kyso/auth"
	"kyso/identity"
	"kyso/identity/federation"
	"kyso/identity/federation/oidctest"
	"kyso/identity/pa"
	"kyso/store/storetest"
)

const (
	oidcCitizen   = "001099012345"
	oidcClient    = "kyso-portal"
	oidcSecret    = "portal-secret"
	oidcPortalURI = "https://portal.example/signed-in"
)

type oidcEnv struct {
	kyso, issuer string
	provider     *oidctest.Provider
	svc          *identity.Service
}

func newOIDCEnv(t *testing.T) *oidcEnv {
	t.Helper()
	return newOIDCEnvWith(t, nil)
}

// newOIDCEnvWith lets set change the provider's client registration and
// Kyso's provider configuration before both start.
func newOIDCEnvWith(t *testing.T, set func(*oidctest.Options, *federation.Provider)) *oidcEnv {
	t.Helper()
	e := &oidcEnv{}
	kysoSrv := httptest.NewUnstartedServer(nil)
	kysoURL := "http://" + kysoSrv.Listener.Addr().String()
	callback := kysoURL + "/v1/identity/oidc/vneid/callback"
	opts := oidctest.Options{Dir: t.TempDir(), ClientID: oidcClient, ClientSecret: oidcSecret, RedirectURIs: []string{callback},
		ACR: "vneid-level-2", Citizens: []oidctest.Citizen{{ID: oidcCitizen, Username: "mai", Password: "verysecure", Name: "Nguyễn Thị Mai"}}}
	prov := federation.Provider{Name: "vneid", ClientID: oidcClient, ClientSecret: oidcSecret,
		Scopes: []string{"profile"}, CallbackURL: callback, RedirectURIs: []string{oidcPortalURI},
		ACR: map[string]federation.Level{"vneid-level-2": {LoA: identity.LoASubstantial, IDLevel: "2"}, "vneid-level-1": {LoA: identity.LoALow, IDLevel: "1"}}}
	if set != nil {
		set(&opts, &prov)
	}
	p, err := oidctest.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	e.provider, e.issuer = p, p.URL

	// Kyso.
	db := storetest.SQLite(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	e.svc, err = identity.New(context.Background(), db, identity.Options{Trust: pa.NewTrustStore(), Keys: []crypto.Signer{key}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth.NewPrincipals(context.Background(), db); err != nil { // the replay guard's table
		t.Fatal(err)
	}
	prov.Issuer = p.URL
	rp, err := federation.New(context.Background(), federation.Config{
		Issuer: e.svc, DB: db, Replay: auth.NewReplayGuard(db), Providers: []federation.Provider{prov},
	})
	if err != nil {
		t.Fatal(err)
	}
	kysoSrv.Config.Handler = api.New(api.Deps{Assertions: e.svc}, api.NewFederationArea(rp, nil))
	kysoSrv.Start()
	t.Cleanup(kysoSrv.Close)
	e.kyso = kysoURL
	return e
}

// browserSignIn walks the browser flow with a cookie jar: Kyso's start,
// the provider's login form, Kyso's callback; it returns where Kyso sent
// the browser last.
func (e *oidcEnv) browserSignIn(t *testing.T, redirectURI string) (*url.URL, *http.Response) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	var final *url.URL
	c := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), oidcPortalURI) {
			final = req.URL
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := c.Get(e.kyso + "/v1/identity/oidc/vneid/start?redirect_uri=" + url.QueryEscape(redirectURI))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "username") {
		return nil, resp
	}
	resp, err = e.provider.LogIn(c, resp, "mai", "verysecure")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return final, resp
}

func assertionClaims(t *testing.T, raw string) identity.Claims {
	t.Helper()
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var c identity.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestOIDCBrowserFlow(t *testing.T) {
	e := newOIDCEnv(t)
	final, resp := e.browserSignIn(t, oidcPortalURI)
	if final == nil {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("no redirect to the portal: %d %s", resp.StatusCode, b)
	}
	frag, _ := url.ParseQuery(final.Fragment)
	raw := frag.Get("assertion")
	a, err := e.svc.VerifyAssertion(context.Background(), raw)
	if err != nil {
		t.Fatalf("the assertion does not verify: %v", err)
	}
	c := assertionClaims(t, raw)
	if a.Subject != oidcCitizen || c.LoA != identity.LoASubstantial || c.IDLevel != "2" || len(c.AMR) != 1 || c.AMR[0] != "oidc:vneid" {
		t.Fatalf("assertion claims %+v", c)
	}

	// A redirect URI that is not registered is refused before the provider.
	if final, resp := e.browserSignIn(t, "https://evil.example/steal"); final != nil || resp.StatusCode != http.StatusBadRequest || problemCode(t, resp) != "redirect-uri-not-registered" {
		t.Fatalf("unregistered redirect: %v %d", final, resp.StatusCode)
	}
	// A callback replaying a state already used is refused.
	resp2, err := http.Get(e.kyso + "/v1/identity/oidc/vneid/callback?state=replayed&code=x")
	if err != nil {
		t.Fatal(err)
	}
	if resp2.StatusCode != http.StatusBadRequest || problemCode(t, resp2) != "invalid-state" {
		t.Fatalf("unknown state: %d", resp2.StatusCode)
	}
	// Unknown provider.
	resp3, _ := http.Get(e.kyso + "/v1/identity/oidc/nobody/start?redirect_uri=" + url.QueryEscape(oidcPortalURI))
	if resp3.StatusCode != http.StatusNotFound || problemCode(t, resp3) != "unknown-provider" {
		t.Fatalf("unknown provider: %d", resp3.StatusCode)
	}
}

// TestOIDCPrivateKeyJWT: with a private key configured, Kyso
// authenticates at the provider's token endpoint with a signed client
// assertion (private_key_jwt) and no secret. The provider registered the
// client with its public key and accepts nothing else: the browser flow
// succeeds with that key and ends in invalid_grant, with no assertion for
// the portal, when Kyso signs with a key the provider does not know or
// sends the client secret instead.
func TestOIDCPrivateKeyJWT(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tc := range []struct {
		name       string
		registered crypto.PublicKey
		kid        string
		key        crypto.Signer
		keyID      string
		secret     string
		ok         bool
	}{
		{name: "EC key", registered: ecKey.Public(), kid: "kyso-1", key: ecKey, keyID: "kyso-1", ok: true},
		{name: "RSA key", registered: rsaKey.Public(), kid: "kyso-rsa", key: rsaKey, keyID: "kyso-rsa", ok: true},
		{name: "key the provider does not know", registered: ecKey.Public(), kid: "kyso-1", key: otherKey, keyID: "kyso-1"},
		{name: "unregistered kid", registered: ecKey.Public(), kid: "kyso-1", key: ecKey, keyID: "kyso-2"},
		{name: "client secret instead of the key", registered: ecKey.Public(), kid: "kyso-1", secret: oidcSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newOIDCEnvWith(t, func(o *oidctest.Options, p *federation.Provider) {
				o.ClientKey, o.ClientKeyID = tc.registered, tc.kid
				p.ClientSecret, p.PrivateKey, p.PrivateKeyID = tc.secret, tc.key, tc.keyID
			})
			final, resp := e.browserSignIn(t, oidcPortalURI)
			if !tc.ok {
				if final != nil {
					t.Fatalf("the portal got an assertion: %v", final)
				}
				if resp.StatusCode != http.StatusBadRequest || problemCode(t, resp) != "invalid_grant" {
					t.Fatalf("refused exchange: %d", resp.StatusCode)
				}
				return
			}
			if final == nil {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("no redirect to the portal: %d %s", resp.StatusCode, b)
			}
			frag, _ := url.ParseQuery(final.Fragment)
			a, err := e.svc.VerifyAssertion(context.Background(), frag.Get("assertion"))
			if err != nil || a.Subject != oidcCitizen {
				t.Fatalf("assertion: %v %+v", err, a)
			}
		})
	}
}

// TestOIDCStateReplay: the state of a finished sign-in cannot finish another.
func TestOIDCStateReplay(t *testing.T) {
	e := newOIDCEnv(t)
	jar, _ := cookiejar.New(nil)
	var callback *url.URL
	c := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.Contains(req.URL.Path, "/v1/identity/oidc/vneid/callback") && callback == nil {
			callback = req.URL
		}
		if strings.HasPrefix(req.URL.String(), oidcPortalURI) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := c.Get(e.kyso + "/v1/identity/oidc/vneid/start?redirect_uri=" + url.QueryEscape(oidcPortalURI))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = e.provider.LogIn(c, resp, "mai", "verysecure")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if callback == nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("first sign-in: %d", resp.StatusCode)
	}
	again, err := http.Get(callback.String())
	if err != nil {
		t.Fatal(err)
	}
	if again.StatusCode != http.StatusBadRequest || problemCode(t, again) != "invalid-state" {
		t.Fatalf("state replay: %d", again.StatusCode)
	}
}

// appIDToken runs the code flow against the provider as the portal app
// would, and returns the ID token.
func (e *oidcEnv) appIDToken(t *testing.T) string {
	t.Helper()
	conf := oauth2.Config{ClientID: oidcClient, ClientSecret: oidcSecret, Scopes: []string{"openid", "profile"},
		Endpoint:    oauth2.Endpoint{AuthURL: e.issuer + "/auth", TokenURL: e.issuer + "/oauth/token"},
		RedirectURL: e.kyso + "/v1/identity/oidc/vneid/callback"}
	verifier := oauth2.GenerateVerifier()
	jar, _ := cookiejar.New(nil)
	var code string
	c := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), e.kyso) {
			code = req.URL.Query().Get("code")
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := c.Get(conf.AuthCodeURL("app-state", oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = e.provider.LogIn(c, resp, "mai", "verysecure")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	tok, err := conf.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	return tok.Extra("id_token").(string)
}

func (e *oidcEnv) exchange(t *testing.T, idToken string) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(e.kyso+"/v1/identity/token-exchange", url.Values{
		"grant_type": {federation.GrantTokenExchange}, "subject_token": {idToken}, "subject_token_type": {federation.TokenTypeIDToken}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp, m
}

// forge signs an ID token with claims over the provider's defaults; with
// key nil it uses the provider's own key.
func (e *oidcEnv) forge(t *testing.T, key crypto.Signer, alg jose.SignatureAlgorithm, kid string, over map[string]any) string {
	t.Helper()
	now := time.Now()
	claims := map[string]any{"iss": e.issuer, "sub": oidcCitizen, "aud": []string{oidcClient}, "exp": now.Add(5 * time.Minute).Unix(),
		"iat": now.Unix(), "acr": "vneid-level-2", "jti": rand.Text()}
	for k, v := range over {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	if key == nil {
		key, kid = e.provider.Key, e.provider.KeyID
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", kid).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestOIDCTokenExchange(t *testing.T) {
	e := newOIDCEnv(t)
	idt := e.appIDToken(t)
	resp, m := e.exchange(t, idt)
	if resp.StatusCode != http.StatusOK || m["issued_token_type"] != federation.TokenTypeJWT || m["token_type"] != "N_A" {
		t.Fatalf("exchange: %d %v", resp.StatusCode, m)
	}
	a, err := e.svc.VerifyAssertion(context.Background(), m["access_token"].(string))
	if err != nil || a.Subject != oidcCitizen {
		t.Fatalf("exchanged assertion: %v %v", a, err)
	}
	if exp, _ := m["expires_in"].(float64); exp <= 0 {
		t.Errorf("expires_in %v", m["expires_in"])
	}

	alg := e.provider.Alg
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	unsigned := func() string {
		h := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0" // {"alg":"none","typ":"JWT"}
		p, _ := json.Marshal(map[string]any{"iss": e.issuer, "sub": oidcCitizen, "aud": oidcClient, "exp": time.Now().Add(time.Minute).Unix(), "iat": time.Now().Unix(), "acr": "vneid-level-2"})
		return h + "." + base64.RawURLEncoding.EncodeToString(p) + "."
	}
	for _, tc := range []struct {
		name  string
		token string
		code  string
	}{
		{"replayed", idt, "invalid_grant"},
		{"wrong audience", e.forge(t, nil, alg, "", map[string]any{"aud": []string{"another-client"}}), "invalid_grant"},
		{"expired", e.forge(t, nil, alg, "", map[string]any{"exp": time.Now().Add(-time.Hour).Unix(), "iat": time.Now().Add(-2 * time.Hour).Unix()}), "invalid_grant"},
		{"unknown issuer", e.forge(t, nil, alg, "", map[string]any{"iss": "https://idp.elsewhere.example"}), "invalid_grant"},
		{"key not in the JWKS", e.forge(t, other, jose.ES256, "attacker", nil), "invalid_grant"},
		{"alg none", unsigned(), "invalid_grant"},
		{"acr not in the table", e.forge(t, nil, alg, "", map[string]any{"acr": "password-only"}), "insufficient-assurance"},
		{"personal ID not 12 digits", e.forge(t, nil, alg, "", map[string]any{"sub": "mai"}), "invalid_grant"},
		{"foreign azp", e.forge(t, nil, alg, "", map[string]any{"azp": "another-client"}), "invalid_grant"},
		{"not a JWT", "hello", "invalid_grant"},
	} {
		resp, m := e.exchange(t, tc.token)
		if resp.StatusCode/100 != 4 || m["code"] != tc.code || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s: %d %v, want 4xx %s as problem+json", tc.name, resp.StatusCode, m, tc.code)
		}
	}
	// Wrong grant type and token type.
	resp, err = http.PostForm(e.kyso+"/v1/identity/token-exchange", url.Values{"grant_type": {"password"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadRequest || problemCode(t, resp) != "unsupported_grant_type" {
		t.Errorf("password grant: %d", resp.StatusCode)
	}
}

// TestOIDCLevelFromACR: a level-1 account gets LoA low and level 1.
func TestOIDCLevelFromACR(t *testing.T) {
	e := newOIDCEnv(t)
	e.provider.SetACR("vneid-level-1")
	resp, m := e.exchange(t, e.appIDToken(t))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("exchange: %d %v", resp.StatusCode, m)
	}
	c := assertionClaims(t, m["access_token"].(string))
	if c.LoA != identity.LoALow || c.IDLevel != "1" {
		t.Fatalf("level-1 account: loa %s, id_level %s", c.LoA, c.IDLevel)
	}
}

func problemCode(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var p struct {
		Code string `json:"code"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&p)
	return p.Code
}
