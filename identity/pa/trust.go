package pa

import (
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"kyso/identity/lds"
	"kyso/identity/pki"
)

// TrustStore holds CSCA trust anchors. Its anchors do not change after
// loading; it remembers which (certificate, anchor) signatures verified so
// that the thousands of cards one Document Signer signs cost one chain
// signature check. It is safe for concurrent use.
type TrustStore struct {
	anchors []*pki.Certificate
	seen    map[string]bool
	// verified holds "child fingerprint|anchor fingerprint" keys of
	// signatures that verified. Only genuine CSCA signatures get in, so
	// its size is bounded by the number of real Document Signers.
	verified sync.Map
}

// NewTrustStore returns a store holding certs.
func NewTrustStore(certs ...*pki.Certificate) *TrustStore {
	ts := &TrustStore{seen: map[string]bool{}}
	for _, c := range certs {
		ts.add(c)
	}
	return ts
}

func (ts *TrustStore) add(c *pki.Certificate) bool {
	fp := c.Fingerprint()
	if ts.seen[fp] {
		return false
	}
	ts.seen[fp] = true
	ts.anchors = append(ts.anchors, c)
	return true
}

// Len is the number of anchors.
func (ts *TrustStore) Len() int { return len(ts.anchors) }

// Anchors returns the anchors (do not modify).
func (ts *TrustStore) Anchors() []*pki.Certificate { return ts.anchors }

// candidates returns the anchors that may have issued c.
func (ts *TrustStore) candidates(c *pki.Certificate) []*pki.Certificate {
	var out []*pki.Certificate
	for _, a := range ts.anchors {
		if a.MayHaveIssued(c) {
			out = append(out, a)
		}
	}
	return out
}

// SourceReport describes one file loaded into a TrustStore.
type SourceReport struct {
	File         string
	Kind         string // "certificate" or "master-list"
	Certificates int    // anchors added
	// SignerTrust (master lists): "configured-anchor" when the list signer
	// chains to a certificate file in the directory, "list-member" when it
	// chains to a CSCA inside the list itself, "unverified" otherwise.
	SignerTrust string
	Err         error
}

// LoadOptions controls LoadDir.
type LoadOptions struct {
	// Now is the time at which master-list signer certificates are checked
	// for validity (zero: time.Now()).
	Now time.Time
	// RequireTrustedListSigner refuses master lists whose signer does not
	// chain to a certificate file in the directory.
	RequireTrustedListSigner bool
	Log                      *slog.Logger
}

// LoadDir loads every *.pem, *.crt, *.cer, *.der and *.ml file of dir
// (certificate files first, then master lists). Files that fail are
// reported and skipped; an error is returned only when dir is unreadable.
func LoadDir(dir string, opts LoadOptions) (*TrustStore, []SourceReport, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("pa: reading trust directory: %w", err)
	}
	var certFiles, mlFiles []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".pem", ".crt", ".cer", ".der":
			certFiles = append(certFiles, e.Name())
		case ".ml":
			mlFiles = append(mlFiles, e.Name())
		}
	}
	sort.Strings(certFiles)
	sort.Strings(mlFiles)
	ts := NewTrustStore()
	var reports []SourceReport
	for _, name := range certFiles {
		r := SourceReport{File: name, Kind: "certificate"}
		certs, err := readCertificates(filepath.Join(dir, name))
		if err != nil {
			r.Err = err
			log.Warn("CSCA file skipped", "file", name, "err", err)
		}
		for _, c := range certs {
			if ts.add(c) {
				r.Certificates++
			}
		}
		reports = append(reports, r)
	}
	configured := NewTrustStore(ts.anchors...)
	for _, name := range mlFiles {
		r := SourceReport{File: name, Kind: "master-list"}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			var ml *lds.MasterList
			ml, err = lds.ParseMasterList(b)
			if err == nil {
				r.SignerTrust, err = checkMasterList(ml, configured, now)
			}
			if err == nil && opts.RequireTrustedListSigner && r.SignerTrust != "configured-anchor" {
				err = fmt.Errorf("pa: master list signer %q does not chain to a configured CSCA", ml.SignerCert.Subject.String())
			}
			if err == nil {
				for _, c := range ml.Certificates {
					if ts.add(c) {
						r.Certificates++
					}
				}
				if r.SignerTrust == "unverified" {
					log.Warn("master list loaded but its signer's chain is not established", "file", name, "signer", ml.SignerCert.Subject.String())
				}
			}
		}
		if err != nil {
			r.Err = err
			log.Warn("master list skipped", "file", name, "err", err)
		}
		reports = append(reports, r)
	}
	log.Info("CSCA trust anchors loaded", "dir", dir, "anchors", ts.Len())
	return ts, reports, nil
}

// checkMasterList verifies the list's CMS signature with its signer
// certificate and says how far the signer is trusted.
func checkMasterList(ml *lds.MasterList, configured *TrustStore, now time.Time) (string, error) {
	if err := ml.VerifySignature(); err != nil {
		return "", fmt.Errorf("pa: master list signature: %w", err)
	}
	if _, err := chain(ml.SignerCert, configured, now); err == nil {
		return "configured-anchor", nil
	}
	if _, err := chain(ml.SignerCert, NewTrustStore(ml.Certificates...), now); err == nil {
		return "list-member", nil
	}
	return "unverified", nil
}

func readCertificates(path string) ([]*pki.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ders [][]byte
	if strings.Contains(string(b), "-----BEGIN") {
		rest := b
		for {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				break
			}
			if blk.Type == "CERTIFICATE" {
				ders = append(ders, blk.Bytes)
			}
		}
	} else {
		ders = append(ders, b)
	}
	if len(ders) == 0 {
		return nil, errors.New("pa: no certificate found")
	}
	var out []*pki.Certificate
	for _, d := range ders {
		c, err := pki.ParseCertificate(d)
		if err != nil {
			return out, err
		}
		out = append(out, c)
	}
	return out, nil
}
