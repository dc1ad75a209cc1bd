package main

import (
	"context"
	"crypto"
	"fmt"
	"os"
	"strings"

	"kyso/auth"
	"kyso/identity"
	"kyso/identity/federation"
)

// openFederation makes Kyso a relying party of the configured OpenID
// providers (identity.oidc.providers).
func openFederation(ctx context.Context, e *env, issuer *identity.Service, replay auth.ReplayGuard) (*federation.RP, error) {
	var providers []federation.Provider
	for _, p := range e.cfg.Identity.OIDC.Providers {
		secret := ""
		if p.ClientSecretFile != "" {
			b, err := os.ReadFile(p.ClientSecretFile)
			if err != nil {
				return nil, fmt.Errorf("identity.oidc.providers %s: client_secret_file: %w", p.Name, err)
			}
			secret = strings.TrimSpace(string(b))
		}
		var key crypto.Signer
		if p.PrivateKeyFile != "" {
			b, err := os.ReadFile(p.PrivateKeyFile)
			if err != nil {
				return nil, fmt.Errorf("identity.oidc.providers %s: private_key_file: %w", p.Name, err)
			}
			if key, err = federation.ParsePrivateKey(b); err != nil {
				return nil, fmt.Errorf("identity.oidc.providers %s: private_key_file %s: %w", p.Name, p.PrivateKeyFile, err)
			}
		}
		callback := p.CallbackURL
		if callback == "" {
			callback = strings.TrimRight(e.cfg.PublicURL, "/") + "/v1/identity/oidc/" + p.Name + "/callback"
		}
		acr := map[string]federation.Level{}
		for k, v := range p.ACR {
			acr[k] = federation.Level{LoA: v.LoA, IDLevel: v.IDLevel}
		}
		providers = append(providers, federation.Provider{Name: p.Name, Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: secret,
			PrivateKey: key, PrivateKeyID: p.PrivateKeyID,
			Scopes: p.Scopes, IDClaim: p.IDClaim, NameClaim: p.NameClaim, BirthDateClaim: p.BirthDateClaim, ACR: acr,
			CallbackURL: callback, RedirectURIs: p.RedirectURIs})
	}
	return federation.New(ctx, federation.Config{Providers: providers, Issuer: issuer, DB: e.db, Replay: replay,
		Log: e.log.With("component", "federation")})
}
