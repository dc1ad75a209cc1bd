// Package federation makes Kyso a relying party of OpenID Connect
// providers (VNeID in production): a citizen signed in at a provider gets
// the same identity assertion as the chip flow, with the level of
// assurance the provider's acr really gives.
//
// Two flows: the browser flow (authorization code with PKCE, state and
// nonce; the state lives in the database so any replica can take the
// callback) and the app flow (RFC 8693 token exchange of an ID token the
// app already holds). ID tokens are verified with github.com/coreos/go-oidc
// (signature through the provider's JWKS, with key rotation; iss, aud,
// exp) and here (iat, azp, nonce, acr, the personal ID claim); the code is
// exchanged with golang.org/x/oauth2.
package federation

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"kyso/auth"
	"kyso/identity"
	"kyso/problem"
	"kyso/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Level maps one acr value of a provider to Kyso's level of assurance and
// to Vietnam's identification level (Decree 69/2024/NĐ-CP).
type Level struct {
	LoA     string `yaml:"loa"`
	IDLevel string `yaml:"id_level"`
}

// Provider configures one OpenID provider.
type Provider struct {
	Name string
	// Issuer is the provider's issuer URL (discovery at
	// Issuer/.well-known/openid-configuration).
	Issuer       string
	ClientID     string
	ClientSecret string
	// PrivateKey, when set, authenticates Kyso at the token endpoint with
	// private_key_jwt (RFC 7523 §2.2, OpenID Connect Core §9): a fresh
	// client assertion signed with it, and no client secret.
	// PrivateKeyID is its kid at the provider (optional).
	PrivateKey   crypto.Signer
	PrivateKeyID string
	Scopes       []string
	// IDClaim holds the 12-digit personal ID (default "sub"); NameClaim
	// and BirthDateClaim the full name and birth date (defaults "name"
	// and "birthdate").
	IDClaim, NameClaim, BirthDateClaim string
	// ACR maps the provider's acr values; an acr not in the table is
	// refused.
	ACR map[string]Level
	// CallbackURL is Kyso's redirect URI registered at the provider
	// (…/v1/identity/oidc/{name}/callback).
	CallbackURL string
	// RedirectURIs are where the browser flow may return assertions (the
	// portal's own pages), compared exactly.
	RedirectURIs []string
}

// Issuer signs Kyso's identity assertions (*identity.Service).
type Issuer interface {
	IssueFederated(ctx context.Context, f identity.FederatedIdentity) (*identity.Verification, error)
}

// Config configures the relying party.
type Config struct {
	Providers []Provider
	Issuer    Issuer
	DB        *store.DB
	// Replay refuses an ID token exchanged twice.
	Replay auth.ReplayGuard
	// HTTPClient reaches the providers (discovery, JWKS, token endpoint).
	HTTPClient *http.Client
	// StateTTL bounds a browser sign-in (default 10 minutes).
	StateTTL time.Duration
	// MaxTokenAge refuses ID tokens issued longer ago (default 10 min).
	MaxTokenAge time.Duration
	Now         func() time.Time
	Log         *slog.Logger
}

// RP is the relying party.
type RP struct {
	cfg       Config
	providers map[string]*provider
}

type provider struct {
	cfg  Provider
	mu   sync.Mutex
	op   *oidc.Provider
	idv  *oidc.IDTokenVerifier
	auth oauth2.Config
}

// Token types and grant of RFC 8693.
const (
	GrantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	TokenTypeIDToken   = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeJWT       = "urn:ietf:params:oauth:token-type:jwt"
)

// New checks the configuration and applies the migrations. Providers are
// discovered on first use, so a provider that is down does not stop the
// service.
func New(ctx context.Context, cfg Config) (*RP, error) {
	if cfg.Issuer == nil || cfg.DB == nil || cfg.Replay == nil {
		return nil, errors.New("federation: issuer, database and replay guard are required")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.StateTTL <= 0 {
		cfg.StateTTL = 10 * time.Minute
	}
	if cfg.MaxTokenAge <= 0 {
		cfg.MaxTokenAge = 10 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if err := Migrate(ctx, cfg.DB); err != nil {
		return nil, err
	}
	rp := &RP{cfg: cfg, providers: map[string]*provider{}}
	for _, p := range cfg.Providers {
		if err := p.check(); err != nil {
			return nil, err
		}
		if _, dup := rp.providers[p.Name]; dup {
			return nil, fmt.Errorf("federation: provider %q configured twice", p.Name)
		}
		if p.IDClaim == "" {
			p.IDClaim = "sub"
		}
		if p.NameClaim == "" {
			p.NameClaim = "name"
		}
		if p.BirthDateClaim == "" {
			p.BirthDateClaim = "birthdate"
		}
		if !slices.Contains(p.Scopes, oidc.ScopeOpenID) {
			p.Scopes = append([]string{oidc.ScopeOpenID}, p.Scopes...)
		}
		rp.providers[p.Name] = &provider{cfg: p}
	}
	return rp, nil
}

func (p Provider) check() error {
	switch {
	case p.Name == "" || strings.ContainsAny(p.Name, "/?#% "):
		return fmt.Errorf("federation: provider name %q must be a plain word", p.Name)
	case p.Issuer == "" || p.ClientID == "":
		return fmt.Errorf("federation: provider %s needs issuer and client_id", p.Name)
	case len(p.ACR) == 0:
		return fmt.Errorf("federation: provider %s needs an acr table", p.Name)
	case p.PrivateKey != nil && p.ClientSecret != "":
		return fmt.Errorf("federation: provider %s: a client secret and a private key are both configured; want one", p.Name)
	}
	if p.PrivateKey != nil {
		if _, err := assertionAlg(p.PrivateKey); err != nil {
			return fmt.Errorf("federation: provider %s: %w", p.Name, err)
		}
	}
	for acr, l := range p.ACR {
		switch l.LoA {
		case identity.LoALow, identity.LoASubstantial, identity.LoAHigh:
		default:
			return fmt.Errorf("federation: provider %s: acr %q maps to unknown level of assurance %q", p.Name, acr, l.LoA)
		}
		if l.IDLevel != "" && l.IDLevel != "1" && l.IDLevel != "2" {
			return fmt.Errorf("federation: provider %s: acr %q maps to identification level %q (want 1 or 2)", p.Name, acr, l.IDLevel)
		}
	}
	return nil
}

// Providers names the configured providers.
func (rp *RP) Providers() []string {
	var out []string
	for n := range rp.providers {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Problems of the relying party (their codes are part of the API).
var (
	ErrUnknownProvider = problem.New(http.StatusNotFound, "unknown-provider", "no such identity provider is configured")
	ErrRedirectURI     = problem.New(http.StatusBadRequest, "redirect-uri-not-registered", "redirect_uri is not registered for this provider")
	ErrState           = problem.New(http.StatusBadRequest, "invalid-state", "the sign-in is unknown, was used already or expired; start again")
	ErrProvider        = problem.New(http.StatusBadGateway, "provider-unavailable", "the identity provider could not be reached")
	ErrBadForm         = problem.New(http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
)

// invalidGrant is the RFC 6749 error of a refused token, as a problem.
func invalidGrant(format string, args ...any) *problem.Error {
	return problem.Newf(http.StatusBadRequest, "invalid_grant", format, args...)
}

func (rp *RP) httpCtx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, rp.cfg.HTTPClient)
}

// get discovers the provider on first use.
func (rp *RP) get(ctx context.Context, name string) (*provider, error) {
	p, ok := rp.providers[name]
	if !ok {
		return nil, ErrUnknownProvider
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.op != nil {
		return p, nil
	}
	op, err := oidc.NewProvider(rp.httpCtx(ctx), p.cfg.Issuer)
	if err != nil {
		rp.cfg.Log.Warn("identity provider discovery", "provider", name, "err", err)
		return nil, ErrProvider
	}
	p.op = op
	p.idv = op.Verifier(&oidc.Config{ClientID: p.cfg.ClientID, Now: rp.cfg.Now,
		SupportedSigningAlgs: []string{oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512, oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA}})
	p.auth = oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, Endpoint: op.Endpoint(),
		RedirectURL: p.cfg.CallbackURL, Scopes: p.cfg.Scopes}
	if p.cfg.PrivateKey != nil {
		// The assertion is the only credential: client_id goes in the
		// form beside it, never a secret in an Authorization header.
		p.auth.ClientSecret = ""
		p.auth.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	return p, nil
}

func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Start begins a browser sign-in: it records the state, nonce and PKCE
// verifier and returns the provider's authorization URL.
func (rp *RP) Start(ctx context.Context, name, redirectURI string) (string, error) {
	p, ok := rp.providers[name]
	if !ok {
		return "", ErrUnknownProvider
	}
	if !slices.Contains(p.cfg.RedirectURIs, redirectURI) {
		return "", ErrRedirectURI
	}
	p, err := rp.get(ctx, name)
	if err != nil {
		return "", err
	}
	state, nonce, verifier := random(), random(), oauth2.GenerateVerifier()
	now := rp.cfg.Now()
	if _, err := rp.cfg.DB.ExecContext(ctx, `DELETE FROM oidc_states WHERE expires_at <= $1`, now.UnixMilli()); err != nil {
		return "", fmt.Errorf("federation: prune states: %w", err)
	}
	if _, err := rp.cfg.DB.ExecContext(ctx, `INSERT INTO oidc_states (state_sha256, provider, redirect_uri, nonce, verifier, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		digest(state), name, redirectURI, nonce, verifier, now.Add(rp.cfg.StateTTL).UnixMilli()); err != nil {
		return "", fmt.Errorf("federation: store state: %w", err)
	}
	return p.auth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)), nil
}

// Callback finishes a browser sign-in: it takes the state once, exchanges
// the code, verifies the ID token (nonce included) and returns the
// registered redirect URI with the assertion in its fragment.
func (rp *RP) Callback(ctx context.Context, name string, q url.Values) (string, error) {
	if _, ok := rp.providers[name]; !ok {
		return "", ErrUnknownProvider
	}
	state := q.Get("state")
	if state == "" {
		return "", ErrState
	}
	var provName, redirectURI, nonce, verifier string
	var expires int64
	err := rp.cfg.DB.InTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT provider, redirect_uri, nonce, verifier, expires_at FROM oidc_states WHERE state_sha256 = $1`, digest(state)).
			Scan(&provName, &redirectURI, &nonce, &verifier, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrState
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM oidc_states WHERE state_sha256 = $1`, digest(state))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return ErrState
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrState) {
			return "", ErrState
		}
		return "", fmt.Errorf("federation: take state: %w", err)
	}
	if provName != name || rp.cfg.Now().UnixMilli() >= expires {
		return "", ErrState
	}
	if e := q.Get("error"); e != "" {
		return "", problem.Newf(http.StatusBadRequest, "provider-refused", "the identity provider answered %q", truncate(e, 64))
	}
	code := q.Get("code")
	if code == "" {
		return "", problem.New(http.StatusBadRequest, "invalid-request", "the provider's answer has no code")
	}
	p, err := rp.get(ctx, name)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oauth2.VerifierOption(verifier)}
	if p.cfg.PrivateKey != nil {
		assertion, err := rp.clientAssertion(p)
		if err != nil {
			return "", fmt.Errorf("federation: client assertion for %s: %w", name, err)
		}
		opts = append(opts, oauth2.SetAuthURLParam("client_assertion_type", ClientAssertionJWTBearer),
			oauth2.SetAuthURLParam("client_assertion", assertion))
	}
	tok, err := p.auth.Exchange(rp.httpCtx(ctx), code, opts...)
	if err != nil {
		rp.cfg.Log.Info("code exchange refused", "provider", name, "err", err)
		return "", invalidGrant("the provider did not exchange the code")
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", invalidGrant("the provider's token response has no id_token")
	}
	v, err := rp.verify(ctx, p, raw, nonce, func(claims map[string]any) {
		rp.fromUserInfo(ctx, p, tok, claims)
	})
	if err != nil {
		return "", err
	}
	u, err := url.Parse(redirectURI)
	if err != nil {
		return "", ErrRedirectURI
	}
	u.Fragment = url.Values{"assertion": {v.Assertion}, "token_type": {"Bearer"},
		"expires_in": {fmt.Sprint(int64(v.Claims.Expiry.Time().Sub(rp.cfg.Now()).Seconds()))}}.Encode()
	return u.String(), nil
}

// Exchanged is the answer to a token exchange (RFC 8693 §2.2.1).
type Exchanged struct {
	AccessToken     string `json:"access_token"`
	IssuedTokenType string `json:"issued_token_type"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int64  `json:"expires_in"`
}

// Exchange is the app flow: an ID token the app obtained from a configured
// provider (its iss names the provider, its aud the provider's client_id)
// for a Kyso identity assertion. A token is exchanged once.
func (rp *RP) Exchange(ctx context.Context, form url.Values) (*Exchanged, error) {
	if form.Get("grant_type") != GrantTokenExchange {
		return nil, problem.New(http.StatusBadRequest, "unsupported_grant_type", "grant_type must be "+GrantTokenExchange)
	}
	if form.Get("subject_token_type") != TokenTypeIDToken {
		return nil, problem.New(http.StatusBadRequest, "invalid_request", "subject_token_type must be "+TokenTypeIDToken)
	}
	raw := form.Get("subject_token")
	if raw == "" || len(raw) > 16<<10 {
		return nil, problem.New(http.StatusBadRequest, "invalid_request", "subject_token must be an ID token of at most 16 KiB")
	}
	iss, err := unverifiedIssuer(raw)
	if err != nil {
		return nil, invalidGrant("the subject token is not a JWT")
	}
	var p *provider
	for _, cand := range rp.providers {
		if cand.cfg.Issuer == iss {
			p = cand
		}
	}
	if p == nil {
		return nil, invalidGrant("the subject token's issuer is not a configured provider")
	}
	if p, err = rp.get(ctx, p.cfg.Name); err != nil {
		return nil, err
	}
	v, err := rp.verify(ctx, p, raw, "", nil)
	if err != nil {
		return nil, err
	}
	return &Exchanged{AccessToken: v.Assertion, IssuedTokenType: TokenTypeJWT, TokenType: "N_A",
		ExpiresIn: int64(v.Claims.Expiry.Time().Sub(rp.cfg.Now()).Seconds())}, nil
}

// verify checks an ID token of p and issues the assertion. wantNonce is
// required in the browser flow and ignored in the app flow; more, when
// given, may add claims the ID token lacks (from the UserInfo endpoint).
func (rp *RP) verify(ctx context.Context, p *provider, raw, wantNonce string, more func(map[string]any)) (*identity.Verification, error) {
	tok, err := p.idv.Verify(rp.httpCtx(ctx), raw)
	if err != nil {
		rp.cfg.Log.Info("ID token refused", "provider", p.cfg.Name, "err", err)
		return nil, invalidGrant("the ID token is not valid: %s", truncate(err.Error(), 200))
	}
	now := rp.cfg.Now()
	if tok.IssuedAt.After(now.Add(time.Minute)) || now.Sub(tok.IssuedAt) > rp.cfg.MaxTokenAge {
		return nil, invalidGrant("the ID token was issued at %s, outside the accepted window", tok.IssuedAt.UTC().Format(time.RFC3339))
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return nil, invalidGrant("the ID token's claims cannot be read")
	}
	if len(tok.Audience) > 1 || claims["azp"] != nil {
		if azp, _ := claims["azp"].(string); azp != p.cfg.ClientID {
			return nil, invalidGrant("the ID token's azp is not this client")
		}
	}
	if wantNonce != "" && tok.Nonce != wantNonce {
		return nil, invalidGrant("the ID token's nonce does not match the sign-in")
	}
	if more != nil {
		more(claims)
	}
	acr, _ := claims["acr"].(string)
	level, ok := p.cfg.ACR[acr]
	if !ok {
		return nil, problem.Newf(http.StatusForbidden, "insufficient-assurance", "the provider's acr %q is not in the assurance table", truncate(acr, 64))
	}
	str := func(k string) string { s, _ := claims[k].(string); return s }
	id := str(p.cfg.IDClaim)
	if p.cfg.IDClaim == "sub" {
		id = tok.Subject
	}
	jti := str("jti")
	if jti == "" {
		jti = "sha256:" + digest(raw)
	}
	if err := rp.cfg.Replay.Consume(ctx, p.cfg.Name+":"+jti, "oidc-id-token", tok.Expiry); err != nil {
		if errors.Is(err, auth.ErrReplayed) {
			return nil, invalidGrant("the ID token was used already")
		}
		return nil, fmt.Errorf("federation: replay guard: %w", err)
	}
	v, err := rp.cfg.Issuer.IssueFederated(ctx, identity.FederatedIdentity{Subject: id, Name: strings.TrimSpace(str(p.cfg.NameClaim)), BirthDate: str(p.cfg.BirthDateClaim),
		LoA: level.LoA, IDLevel: level.IDLevel, Provider: p.cfg.Name, ProviderACR: acr, TokenID: jti})
	if err != nil {
		var pe *problem.Error
		if errors.As(err, &pe) {
			return nil, invalidGrant("%s", pe.Detail)
		}
		return nil, err
	}
	return v, nil
}

// fromUserInfo fills the name and birth date claims an ID token lacks
// from the provider's UserInfo endpoint (many providers send profile
// claims only there), when the UserInfo subject is the ID token's. The
// personal ID and acr come from the ID token only.
func (rp *RP) fromUserInfo(ctx context.Context, p *provider, tok *oauth2.Token, claims map[string]any) {
	if claims[p.cfg.NameClaim] != nil && claims[p.cfg.BirthDateClaim] != nil {
		return
	}
	ui, err := p.op.UserInfo(rp.httpCtx(ctx), oauth2.StaticTokenSource(tok))
	if err != nil {
		rp.cfg.Log.Info("userinfo", "provider", p.cfg.Name, "err", err)
		return
	}
	var extra map[string]any
	if err := ui.Claims(&extra); err != nil || ui.Subject != claims["sub"] {
		return
	}
	for _, k := range []string{p.cfg.NameClaim, p.cfg.BirthDateClaim} {
		if claims[k] == nil && extra[k] != nil {
			claims[k] = extra[k]
		}
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// unverifiedIssuer reads the iss claim of a compact JWS without checking
// anything, only to choose the provider whose keys then verify it.
func unverifiedIssuer(raw string) (string, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", errors.New("not a compact JWS")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", err
	}
	if c.Iss == "" {
		return "", errors.New("no iss")
	}
	return c.Iss, nil
}

// ClientAssertionJWTBearer is the client_assertion_type of private_key_jwt
// (RFC 7523 §2.2).
const ClientAssertionJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// clientAssertionLifetime bounds a client assertion; each code exchange
// signs a fresh one.
const clientAssertionLifetime = 2 * time.Minute

// clientAssertion signs the private_key_jwt assertion of one code
// exchange: iss and sub are the client_id, aud the provider's token
// endpoint (and its issuer, which some providers require instead), a
// fresh jti, iat and an exp two minutes later.
func (rp *RP) clientAssertion(p *provider) (string, error) {
	alg, err := assertionAlg(p.cfg.PrivateKey)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: p.cfg.PrivateKey, KeyID: p.cfg.PrivateKeyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	now := rp.cfg.Now()
	aud := jwt.Audience{p.auth.Endpoint.TokenURL}
	if p.cfg.Issuer != p.auth.Endpoint.TokenURL {
		aud = append(aud, p.cfg.Issuer)
	}
	return jwt.Signed(signer).Claims(jwt.Claims{Issuer: p.cfg.ClientID, Subject: p.cfg.ClientID, Audience: aud, ID: random(),
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(clientAssertionLifetime))}).Serialize()
}

// assertionAlg is the JWS algorithm a client key signs with: ES256/384/512
// for P-256/384/521, RS256 for RSA keys of at least 2048 bits.
func assertionAlg(k crypto.Signer) (jose.SignatureAlgorithm, error) {
	switch pub := k.Public().(type) {
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			return jose.ES256, nil
		case elliptic.P384():
			return jose.ES384, nil
		case elliptic.P521():
			return jose.ES512, nil
		}
		return "", errors.New("client key: want an EC key on P-256, P-384 or P-521")
	case *rsa.PublicKey:
		if pub.N.BitLen() < 2048 {
			return "", fmt.Errorf("client key: RSA key of %d bits, want at least 2048", pub.N.BitLen())
		}
		return jose.RS256, nil
	}
	return "", fmt.Errorf("client key: %T is neither an EC nor an RSA key", k.Public())
}

// ParsePrivateKey reads a client key for private_key_jwt from PEM: an EC
// or RSA private key in PKCS #8, SEC 1 ("EC PRIVATE KEY") or PKCS #1
// ("RSA PRIVATE KEY") form. Encrypted PEM is refused.
func ParsePrivateKey(b []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("client key: no PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("client key: PEM block %q, want PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY", truncate(block.Type, 40))
	}
	if err != nil {
		return nil, fmt.Errorf("client key: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("client key: %T cannot sign", key)
	}
	if _, err := assertionAlg(signer); err != nil {
		return nil, err
	}
	return signer, nil
}

// Migrate applies the sign-in state tables to db.
func Migrate(ctx context.Context, db *store.DB) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	return db.Migrate(ctx, "oidc", sub)
}
