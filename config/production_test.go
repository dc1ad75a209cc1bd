package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	certstest "kyso/certs-test"
	"kyso/identity/pki"
)

// The fingerprints production refuses are those of the test CSCAs the
// fixtures derive from the seed "kyso-dev", for every algorithm.
func TestDevCSCAKeysMatchTheFixtures(t *testing.T) {
	seen := map[string]bool{}
	for _, alg := range certstest.Algorithms() {
		chip, err := certstest.NewChip(certstest.ChipOptions{ID: "001099000000", Alg: alg, IssuerSeed: "kyso-dev"})
		if err != nil {
			t.Fatal(err)
		}
		c, err := pki.ParseCertificate(chip.CSCA)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(c.RawSPKI)
		fp := hex.EncodeToString(sum[:])
		if _, ok := devCSCAKeys[fp]; !ok {
			t.Errorf("the %s test CSCA (SPKI %s) is not refused in production", alg, fp)
		}
		seen[fp] = true
		if !IsDevCSCA(chip.CSCA) {
			t.Errorf("IsDevCSCA(%s) = false", alg)
		}
	}
	for fp, alg := range devCSCAKeys {
		if !seen[fp] {
			t.Errorf("devCSCAKeys lists %s (%s), which no fixture makes", fp, alg)
		}
	}
	other, err := certstest.NewChip(certstest.ChipOptions{ID: "001099000000", Alg: "p256", IssuerSeed: "another-seed"})
	if err != nil {
		t.Fatal(err)
	}
	if IsDevCSCA(other.CSCA) {
		t.Error("a CSCA of another seed is taken for the dev CSCA")
	}
}

func TestProductionRefusesDevelopmentSettings(t *testing.T) {
	devDir := t.TempDir()
	chip, err := certstest.NewChip(certstest.ChipOptions{ID: "001099000000", Alg: "p256", IssuerSeed: "kyso-dev"})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(devDir, "demo-csca.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: chip.CSCA}), 0o644)
	cleanDir := t.TempDir()
	other, _ := certstest.NewChip(certstest.ChipOptions{ID: "001099000000", Alg: "p256", IssuerSeed: "province"})
	os.WriteFile(filepath.Join(cleanDir, "csca.der"), other.CSCA, 0o644)

	good := Default()
	good.HSM.Module = "/usr/lib/vendor/libhsm.so"
	good.Identity.CSCADir = cleanDir
	for _, tc := range []struct {
		name string
		edit func(c *Config)
		want []string // keys named; none means accepted
	}{
		{"explicit module, loopback", func(c *Config) {}, nil},
		{"defaults", func(c *Config) { *c = Default() }, []string{"hsm.module"}},
		{"no module", func(c *Config) { c.HSM.Module = "" }, []string{"hsm.module"}},
		{"demo seeding", func(c *Config) { c.Dev.SeedDemoAgencies = true }, []string{"dev.seed_demo_agencies"}},
		{"dev CSCA", func(c *Config) { c.Identity.CSCADir = devDir }, []string{"identity.csca_dir", "demo-csca.pem"}},
		{"all interfaces without TLS", func(c *Config) { c.Listen = ":8080" }, []string{"listen", "tls.cert_file"}},
		{"public address without TLS", func(c *Config) { c.Listen = "10.0.0.5:8080" }, []string{"listen"}},
		{"public address with TLS", func(c *Config) { c.Listen = "0.0.0.0:8443"; c.TLS.CertFile, c.TLS.KeyFile = "c.pem", "k.pem" }, nil},
		{"IPv6 loopback", func(c *Config) { c.Listen = "[::1]:8080" }, nil},
		{"localhost", func(c *Config) { c.Listen = "localhost:8080" }, nil},
		{"citizen and audit modules", func(c *Config) {
			c.HSM.CitizenModule, c.HSM.AuditModule = "/usr/lib/vendor/libhsm-full.so", "/usr/lib/vendor/libhsm-full.so"
		}, nil},
		{"relative module", func(c *Config) { c.HSM.Module = "libhsm.so" }, []string{"hsm.module", "absolute"}},
		{"relative citizen module", func(c *Config) { c.HSM.CitizenModule = "libsofthsm2.so" }, []string{"hsm.citizen_module", "absolute"}},
		{"relative audit module", func(c *Config) { c.HSM.AuditModule = "lib/p11.so" }, []string{"hsm.audit_module", "absolute"}},
		{"citizen module without module", func(c *Config) {
			c.HSM.Module, c.HSM.CitizenModule = "", "/usr/lib/vendor/libhsm-full.so"
		}, []string{"hsm.module"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			err := c.CheckProduction()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not name %s", err, w)
				}
			}
		})
	}
}

func TestModeIsValidated(t *testing.T) {
	if c, err := Load("", nil); err != nil || c.Mode != ModeProduction {
		t.Fatalf("default mode %q, %v", c.Mode, err)
	}
	if c, err := Load("", []string{"KYSO_MODE=development"}); err != nil || c.Mode != ModeDevelopment {
		t.Fatalf("development: %q %v", c.Mode, err)
	}
	if _, err := Load("", []string{"KYSO_MODE=staging"}); err == nil || !strings.Contains(err.Error(), "mode") {
		t.Fatalf("unknown mode: %v", err)
	}
}

// The example production configuration loads and passes the production
// checks.
func TestExampleProductionConfig(t *testing.T) {
	c, err := Load(filepath.Join("..", "deploy", "kyso.example.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Mode != ModeProduction {
		t.Fatalf("mode %q", c.Mode)
	}
	if err := c.CheckProduction(); err != nil {
		t.Fatal(err)
	}
}
