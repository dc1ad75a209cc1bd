package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultsAreValid(t *testing.T) {
	c, err := Load("", nil)
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if !strings.HasPrefix(c.DataDir, "./var") || !strings.HasPrefix(c.HSM.PINFile, "./var") || !strings.HasPrefix(c.Identity.CSCADir, "./var") {
		t.Fatalf("local state outside ./var: %+v", c)
	}
}

func TestFileAndEnvironment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kyso.yaml")
	os.WriteFile(path, []byte("listen: 127.0.0.1:9999\nhsm:\n  pool_size: 3\n  token_label: prod\nca:\n  crl_shards: 4\n"), 0o600)
	c, err := Load(path, []string{"KYSO_HSM_POOL_SIZE=5", "KYSO_DATABASE_DSN=postgres://x@h/db", "KYSO_SIGNER_SAD_LIFETIME=2m",
		"KYSO_VERIFIER_ALLOWED_HOSTS=a.example, b.example", "KYSO_IDENTITY_ALLOW_PASSPORTS=true", "OTHER=1"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9999" || c.HSM.TokenLabel != "prod" || c.CA.CRLShards != 4 {
		t.Fatalf("file values not applied: %+v", c)
	}
	if c.HSM.PoolSize != 5 || c.Database.DSN != "postgres://x@h/db" || c.Signer.SADLifetime != 2*time.Minute ||
		len(c.Verifier.AllowedHosts) != 2 || !c.Identity.AllowPassports {
		t.Fatalf("environment not applied: %+v", c)
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		name, yaml string
		env        []string
		want       []string
	}{
		{name: "unknown key", yaml: "hsm:\n  pool: 3\n", want: []string{"pool"}},
		{name: "bad pool", yaml: "hsm:\n  pool_size: 0\n", want: []string{"hsm.pool_size"}},
		{name: "bad env int", env: []string{"KYSO_HSM_POOL_SIZE=many"}, want: []string{"hsm.pool_size", "KYSO_HSM_POOL_SIZE"}},
		{name: "bad env duration", env: []string{"KYSO_HTTP_READ_TIMEOUT=soon"}, want: []string{"http.read_timeout"}},
		{name: "several at once", yaml: "listen: nowhere\nlog:\n  level: loud\nca:\n  crl_shards: 0\n", want: []string{"listen", "log.level", "ca.crl_shards"}},
		{name: "dsn", yaml: "database:\n  dsn: mysql://x\n", want: []string{"database.dsn"}},
		{name: "assertion lifetime", yaml: "identity:\n  assertion_lifetime: 1h\n", want: []string{"identity.assertion_lifetime"}},
		{name: "http registry without url", yaml: "identity:\n  registry: http\n", want: []string{"identity.registry_url"}},
		{name: "half tls", yaml: "tls:\n  cert_file: a.pem\n", want: []string{"tls.cert_file"}},
		{name: "oidc secret and key", yaml: "identity:\n  oidc:\n    providers:\n      - name: vneid\n        issuer: https://sso.example\n        client_id: kyso\n        acr: {l2: {loa: substantial}}\n        redirect_uris: [https://portal.example/in]\n        client_secret_file: /s\n        private_key_file: /k.pem\n", want: []string{"identity.oidc.providers[0].client_secret_file", "private_key_file"}},
		{name: "oidc neither secret nor key", yaml: "identity:\n  oidc:\n    providers:\n      - name: vneid\n        issuer: https://sso.example\n        client_id: kyso\n        acr: {l2: {loa: substantial}}\n        redirect_uris: [https://portal.example/in]\n", want: []string{"identity.oidc.providers[0].client_secret_file", "private_key_file"}},
		{name: "oidc kid without key", yaml: "identity:\n  oidc:\n    providers:\n      - name: vneid\n        issuer: https://sso.example\n        client_id: kyso\n        acr: {l2: {loa: substantial}}\n        redirect_uris: [https://portal.example/in]\n        client_secret_file: /s\n        private_key_id: k1\n", want: []string{"identity.oidc.providers[0].private_key_id"}},
		{name: "wrong type", yaml: "hsm:\n  pool_size: lots\n", want: []string{"pool_size"}},
		// A removed key is refused whatever its value, never ignored.
		{name: "removed checkpoint_every", yaml: "audit:\n  checkpoint_every: 100\n", want: []string{"audit.checkpoint_every", "no longer supported", "audit.sequence_interval"}},
		{name: "removed checkpoint_every zero", yaml: "audit:\n  checkpoint_every: 0\n", want: []string{"audit.checkpoint_every"}},
		{name: "removed checkpoint_every env", env: []string{"KYSO_AUDIT_CHECKPOINT_EVERY=10"}, want: []string{"audit.checkpoint_every"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.yaml != "" {
				path = filepath.Join(t.TempDir(), "kyso.yaml")
				os.WriteFile(path, []byte(tc.yaml), 0o600)
			}
			_, err := Load(path, tc.env)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

func TestEmptyFileIsDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kyso.yaml")
	os.WriteFile(path, nil, 0o600)
	if _, err := Load(path, nil); err != nil {
		t.Fatal(err)
	}
}

// TestOIDCPrivateKeyJWT: a provider may authenticate with a private key
// (private_key_jwt) instead of a client secret.
func TestOIDCPrivateKeyJWT(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kyso.yaml")
	os.WriteFile(path, []byte("identity:\n  oidc:\n    providers:\n      - name: vneid\n        issuer: https://sso.example\n        client_id: kyso\n        private_key_file: /etc/kyso/vneid-client.pem\n        private_key_id: kyso-2026\n        acr: {l2: {loa: substantial}}\n        redirect_uris: [https://portal.example/in]\n"), 0o600)
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := c.Identity.OIDC.Providers[0]; p.PrivateKeyFile != "/etc/kyso/vneid-client.pem" || p.PrivateKeyID != "kyso-2026" {
		t.Fatalf("%+v", p)
	}
}
