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
	// is, or chains to, one of LoadOptions.ListSignerAnchors; "untrusted"
	// otherwise (the list is then not used).
	SignerTrust string
	Err         error
}

// ErrListSignerUntrusted is reported (wrapped, in SourceReport.Err) for a
// master list whose signer does not chain to a configured anchor.
var ErrListSignerUntrusted = errors.New("pa: master list signer does not chain to a configured anchor")

// LoadOptions controls LoadDir.
type LoadOptions struct {
	// Now is the time at which master-list signer certificates are checked
	// for validity (zero: time.Now()).
	Now time.Time
	// ListSignerAnchors are the certificates a master list's signer must
	// be, or chain to, for the list's CSCAs to be used (ICAO Doc 9303-12 9:
	// a list is only as trustworthy as its signer). Usually the CSCAs of
	// the states whose lists are trusted. With none, master lists are
	// reported and skipped: a list signed by anyone adds nothing.
	ListSignerAnchors []*pki.Certificate
	Log               *slog.Logger
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
	listAnchors := NewTrustStore(opts.ListSignerAnchors...)
	for _, name := range mlFiles {
		r := SourceReport{File: name, Kind: "master-list"}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			var ml *lds.MasterList
			ml, err = lds.ParseMasterList(b)
			if err == nil {
				r.SignerTrust, err = checkMasterList(ml, listAnchors, now)
			}
			if err == nil {
				for _, c := range ml.Certificates {
					if ts.add(c) {
						r.Certificates++
					}
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
// certificate and that the signer is, or chains to, a configured anchor.
func checkMasterList(ml *lds.MasterList, anchors *TrustStore, now time.Time) (string, error) {
	if err := ml.VerifySignature(); err != nil {
		return "", fmt.Errorf("pa: master list signature: %w", err)
	}
	if anchors.seen[ml.SignerCert.Fingerprint()] && ml.SignerCert.ValidAt(now) {
		return "configured-anchor", nil
	}
	a, err := chain(ml.SignerCert, anchors, now)
	if err != nil {
		return "untrusted", fmt.Errorf("%w: signer %q: %v", ErrListSignerUntrusted, ml.SignerCert.Subject.String(), err)
	}
	if !a.IsCA || (a.HasKeyUsage && a.KeyUsage&pki.KeyUsageKeyCertSign == 0) {
		return "untrusted", fmt.Errorf("%w: anchor %q is not a CA", ErrListSignerUntrusted, a.Subject.String())
	}
	return "configured-anchor", nil
}

// ReadCertificates reads the PEM or DER certificates of path.
func ReadCertificates(path string) ([]*pki.Certificate, error) { return readCertificates(path) }

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
