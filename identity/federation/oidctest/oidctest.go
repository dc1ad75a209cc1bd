// Package oidctest runs a real OpenID Connect provider on loopback for
// tests and the development setup: zitadel's example provider
// (github.com/zitadel/oidc/v3, its op package with the example storage and
// login form), with citizens whose user ID is their 12-digit personal ID
// and a settable acr. It is a fixture: only tests and kyso-dev link it.
package oidctest

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Citizen is a user of the provider.
type Citizen struct {
	ID                 string // 12-digit personal ID, the ID token's sub
	Username, Password string
	// Name is the full name, family name first ("Nguyễn Thị Mai"), as
	// the provider's name claim gives it.
	Name string
}

// Provider is a running OpenID provider.
type Provider struct {
	// URL is the issuer.
	URL string
	// Key signs the provider's ID tokens (tests forge tokens with it).
	Key   crypto.Signer
	KeyID string
	Alg   jose.SignatureAlgorithm
	store *acrStorage
	srv   *http.Server
}

type acrStorage struct {
	*storage.Storage
	mu  sync.Mutex
	acr string
	// clientID authenticates with private_key_jwt when clientKey is set,
	// and only with it.
	clientID    string
	clientKey   crypto.PublicKey
	clientKeyID string
}

// keyJWTClient is a web client that authenticates at the token endpoint
// with private_key_jwt.
type keyJWTClient struct{ op.Client }

func (keyJWTClient) AuthMethod() zoidc.AuthMethod { return zoidc.AuthMethodPrivateKeyJWT }

func (s *acrStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil || s.clientKey == nil || id != s.clientID {
		return c, err
	}
	return keyJWTClient{c}, nil
}

// GetKeyByIDAndClientID gives the provider the registered public key that
// client assertions of the private_key_jwt client must verify with.
func (s *acrStorage) GetKeyByIDAndClientID(ctx context.Context, keyID, clientID string) (*jose.JSONWebKey, error) {
	if s.clientKey == nil || clientID != s.clientID {
		return s.Storage.GetKeyByIDAndClientID(ctx, keyID, clientID)
	}
	if keyID != s.clientKeyID {
		return nil, fmt.Errorf("oidctest: client %s has no key %q", clientID, keyID)
	}
	return &jose.JSONWebKey{KeyID: keyID, Use: "sig", Key: s.clientKey}, nil
}

type acrRequest struct {
	op.AuthRequest
	acr string
}

func (a acrRequest) GetACR() string { return a.acr }

func (s *acrStorage) wrap(ar op.AuthRequest, err error) (op.AuthRequest, error) {
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return acrRequest{ar, s.acr}, nil
}

func (s *acrStorage) CreateAuthRequest(ctx context.Context, r *zoidc.AuthRequest, userID string) (op.AuthRequest, error) {
	return s.wrap(s.Storage.CreateAuthRequest(ctx, r, userID))
}

func (s *acrStorage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	return s.wrap(s.Storage.AuthRequestByID(ctx, id))
}

func (s *acrStorage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	return s.wrap(s.Storage.AuthRequestByCode(ctx, code))
}

// Options configure Start.
type Options struct {
	// Listen is the address (default 127.0.0.1:0).
	Listen   string
	Citizens []Citizen
	// ClientID and ClientSecret register one confidential web client with
	// RedirectURIs.
	ClientID, ClientSecret string
	RedirectURIs           []string
	// ClientKey, when set, makes the client authenticate at the token
	// endpoint with private_key_jwt only: its client assertions must be
	// signed by the private key of this public key, with kid ClientKeyID
	// (empty: no kid).
	ClientKey   crypto.PublicKey
	ClientKeyID string
	// ACR is put in every ID token until SetACR changes it.
	ACR string
	// Dir holds the user file (a temporary directory when empty).
	Dir string
	// Pages are served beside the provider (path -> handler), e.g. a
	// portal page the browser flow returns to in the development setup.
	Pages map[string]http.Handler
}

// Start runs the provider until Close.
func Start(o Options) (*Provider, error) {
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, err
	}
	issuer := "http://" + ln.Addr().String()
	users := map[string]any{}
	for _, c := range o.Citizens {
		users[c.ID] = map[string]any{"ID": c.ID, "Username": c.Username, "Password": c.Password, "FirstName": c.Name,
			"LastName": "", "Email": c.Username + "@vneid.example", "EmailVerified": true, "PreferredLanguage": "vi"}
	}
	dir := o.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "kyso-oidctest-"); err != nil {
			ln.Close()
			return nil, err
		}
	}
	b, _ := json.Marshal(users)
	file := filepath.Join(dir, "oidc-users.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	us, err := storage.StoreFromFile(file)
	if err != nil {
		ln.Close()
		return nil, err
	}
	st := &acrStorage{Storage: storage.NewStorageWithClients(us, map[string]*storage.Client{o.ClientID: storage.WebClient(o.ClientID, o.ClientSecret, o.RedirectURIs...)}), acr: o.ACR,
		clientID: o.ClientID, clientKey: o.ClientKey, clientKeyID: o.ClientKeyID}
	p := &Provider{URL: issuer, store: st}
	sk, err := st.SigningKey(context.Background())
	if err != nil {
		ln.Close()
		return nil, err
	}
	signer, ok := sk.Key().(crypto.Signer)
	if !ok {
		ln.Close()
		return nil, fmt.Errorf("oidctest: the provider's key is %T", sk.Key())
	}
	p.Key, p.KeyID, p.Alg = signer, sk.ID(), sk.SignatureAlgorithm()
	var h http.Handler = exampleop.SetupServer(issuer, st, slog.New(slog.DiscardHandler), false)
	if len(o.Pages) > 0 {
		mux := http.NewServeMux()
		for path, page := range o.Pages {
			mux.Handle(path, page)
		}
		mux.Handle("/", h)
		h = mux
	}
	p.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// SetACR changes the acr of the ID tokens issued from now on.
func (p *Provider) SetACR(acr string) {
	p.store.mu.Lock()
	p.store.acr = acr
	p.store.mu.Unlock()
}

// Close stops the provider.
func (p *Provider) Close() error { return p.srv.Close() }

// LogIn answers the provider's login form that resp (the browser's arrival
// at the form, after following the authorization redirect) shows, as a
// citizen would; c follows the redirects that come after.
func (p *Provider) LogIn(c *http.Client, resp *http.Response, username, password string) (*http.Response, error) {
	if resp.Request == nil || !strings.HasPrefix(resp.Request.URL.String(), p.URL+"/login/") {
		return nil, fmt.Errorf("oidctest: not at the login form (at %v, status %d)", resp.Request.URL, resp.StatusCode)
	}
	id := resp.Request.URL.Query().Get("authRequestID")
	return c.PostForm(p.URL+"/login/username", url.Values{"id": {id}, "username": {username}, "password": {password}})
}
