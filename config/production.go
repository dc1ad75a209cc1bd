package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"kyso/identity/pki"
)

// Modes of operation.
const (
	// ModeProduction is the default: kyso serve refuses the development
	// defaults (CheckProduction).
	ModeProduction = "production"
	// ModeDevelopment is what `make run` sets: SoftHSM found on its own,
	// the dev CSCA and demo data allowed.
	ModeDevelopment = "development"
)

// Dev holds switches only development mode accepts.
type Dev struct {
	// SeedDemoAgencies makes kyso serve create the demo agencies at start.
	SeedDemoAgencies bool `yaml:"seed_demo_agencies"`
}

// devCSCAKeys are the SHA-256 fingerprints of the SubjectPublicKeyInfo of
// the test CSCAs that synthetic chip cards are issued under (derived from
// the public seed "kyso-dev", one per algorithm; RSA and RSA-PSS share a
// key). Anyone can make cards under them, so production refuses to trust
// them. A test derives them again from the fixtures.
var devCSCAKeys = map[string]string{
	"e4006eb6a0e63f00f2af8128527f83c70436b9bb3a13c1b103b79d07567b5d81": "rsa, rsa-pss",
	"863dbf32b1cf85e88ef56e34001e419fa059c72ca985321644271fbbbf3ef7b2": "p256",
	"d2df3233296f43bcfb6a7d0b00b9108a31ac15c6622e4c61596088f9c668d404": "p384",
	"558bef1c74991d407086006bc8ed3659e249550d8d060d91f1618d6c51092049": "brainpool",
}

// CheckProduction refuses what only development may use. kyso serve calls
// it in production mode; each message names the configuration key to
// change.
func (c Config) CheckProduction() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config: %s: %s (mode: production)", key, fmt.Sprintf(format, args...)))
	}
	if c.HSM.Module == "" {
		bad("hsm.module", "set the path of the HSM's PKCS#11 module; production never falls back to SoftHSM")
	}
	for _, m := range []struct{ key, path string }{{"hsm.module", c.HSM.Module}, {"hsm.citizen_module", c.HSM.CitizenModule}, {"hsm.audit_module", c.HSM.AuditModule}} {
		if m.path != "" && !filepath.IsAbs(m.path) {
			bad(m.key, "%q is not an absolute path: the dynamic loader would search its library path for it", m.path)
		}
	}
	if c.Dev.SeedDemoAgencies {
		bad("dev.seed_demo_agencies", "demo seeding is for development only")
	}
	if host, _, err := net.SplitHostPort(c.Listen); err == nil && !isLoopback(host) && c.TLS.CertFile == "" {
		bad("listen", "%s is not a loopback address: set tls.cert_file and tls.key_file, or listen on loopback behind a TLS proxy", c.Listen)
	}
	if files, err := DevCSCAFiles(c.Identity.CSCADir); err != nil {
		bad("identity.csca_dir", "%v", err)
	} else if len(files) > 0 {
		bad("identity.csca_dir", "trusts the development test CSCA, under which anyone can make chip cards: remove %v", files)
	}
	return errors.Join(errs...)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// DevCSCAFiles lists the files of dir holding a development test CSCA
// certificate (DER or PEM). A missing dir holds none.
func DevCSCAFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var found []string
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		ders := [][]byte{b}
		for rest := b; ; {
			var blk *pem.Block
			if blk, rest = pem.Decode(rest); blk == nil {
				break
			}
			ders = append(ders, blk.Bytes)
		}
		for _, der := range ders {
			if IsDevCSCA(der) {
				found = append(found, path)
				break
			}
		}
	}
	return found, nil
}

// IsDevCSCA reports whether der is a certificate with the key of a
// development test CSCA.
func IsDevCSCA(der []byte) bool {
	cert, err := pki.ParseCertificate(der)
	if err != nil {
		return false
	}
	sum := sha256.Sum256(cert.RawSPKI)
	_, ok := devCSCAKeys[hex.EncodeToString(sum[:])]
	return ok
}
