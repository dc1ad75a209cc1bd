package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kyso/auth"
	"kyso/config"
	"kyso/store/storetest"
)

// TestFederationPrivateKeyFile: private_key_file is read as a PEM client
// key for private_key_jwt; a file that holds no usable key stops the
// service with an error naming the setting.
func TestFederationPrivateKeyFile(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	dir := t.TempDir()
	good := filepath.Join(dir, "client.pem")
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(good, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	os.WriteFile(bad, []byte("not a key\n"), 0o600)
	for _, tc := range []struct {
		file string
		ok   bool
	}{{good, true}, {bad, false}, {filepath.Join(dir, "missing.pem"), false}} {
		db := storetest.SQLite(t)
		if _, err := auth.NewPrincipals(context.Background(), db); err != nil {
			t.Fatal(err)
		}
		cfg := config.Default()
		cfg.Identity.OIDC.Providers = []config.OIDCProvider{{Name: "vneid", Issuer: "https://sso.example", ClientID: "kyso",
			PrivateKeyFile: tc.file, PrivateKeyID: "k1", RedirectURIs: []string{"https://portal.example/in"},
			ACR: map[string]config.OIDCLevel{"l2": {LoA: "substantial", IDLevel: "2"}}}}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		e := &env{cfg: cfg, db: db, log: slog.New(slog.DiscardHandler)}
		_, err := openFederation(context.Background(), e, nil, auth.NewReplayGuard(db))
		if tc.ok != (err == nil) || (err != nil && !strings.Contains(err.Error(), "private_key_file")) {
			t.Fatalf("%s: %v", filepath.Base(tc.file), err)
		}
	}
}
