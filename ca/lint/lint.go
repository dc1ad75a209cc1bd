// Package lint runs github.com/zmap/zlint/v3 over a certificate before the
// CA signs it for real: the unsigned template is first signed with a
// throwaway key of the issuer's algorithm under a copy of the issuer's name
// and key identifier, and the result is linted. Any error, warning or fatal
// finding of an applicable lint stops issuance.
//
// Sources applied: RFC 5280, RFC 5480, RFC 3279, RFC 5891, RFC 8813 and the
// zlint community lints. Not applied: the CA/Browser Forum (TLS, S/MIME,
// code-signing, EV) baseline requirements and the browser root-program
// policies (Mozilla, Apple, Chrome): Kyso's citizen, seal and officer
// certificates are document-signing certificates under a national PKI, not
// publicly-trusted web or S/MIME certificates, and those lints would demand
// things that profile rules out (for example an e-mail SAN beside
// emailProtection on citizen certificates; only agency seals carry one). ETSI lints only concern QC statements, which Kyso does
// not emit. Lints excluded by name are listed in Excluded with the reason.
package lint

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	zl "github.com/zmap/zlint/v3/lint"
)

// Excluded returns the lints of the applied sources that are not run, and
// why. None is excluded today: every Kyso profile passes all of them.
func Excluded() map[string]string {
	return map[string]string{}
}

// Finding is one failed lint.
type Finding struct {
	Lint    string
	Status  string
	Details string
}

// Error lists the findings that stopped issuance.
type Error struct {
	Subject  string
	Findings []Finding
}

func (e *Error) Error() string {
	parts := make([]string, 0, len(e.Findings))
	for _, f := range e.Findings {
		s := f.Status + " " + f.Lint
		if f.Details != "" {
			s += " (" + f.Details + ")"
		}
		parts = append(parts, s)
	}
	return fmt.Sprintf("lint: certificate for %q failed: %s", e.Subject, strings.Join(parts, "; "))
}

// Linter lints certificate templates. It is safe for concurrent use.
type Linter struct {
	reg zl.Registry

	mu   sync.Mutex
	keys map[string]crypto.Signer
}

// New returns a Linter with Kyso's lint selection.
func New() (*Linter, error) {
	excluded := Excluded()
	names := make([]string, 0, len(excluded))
	for n := range excluded {
		names = append(names, n)
	}
	reg, err := zl.GlobalRegistry().Filter(zl.FilterOptions{
		IncludeSources: zl.SourceList{zl.RFC5280, zl.RFC5480, zl.RFC3279, zl.RFC5891, zl.RFC8813, zl.Community},
		ExcludeNames:   names,
	})
	if err != nil {
		return nil, fmt.Errorf("lint: registry: %w", err)
	}
	return &Linter{reg: reg, keys: map[string]crypto.Signer{}}, nil
}

// Check renders tmpl with a throwaway key under issuer (nil: tmpl is
// self-signed) and lints it. It returns *Error when a lint fails.
func (l *Linter) Check(tmpl, issuer *x509.Certificate) error {
	der, err := l.Render(tmpl, issuer)
	if err != nil {
		return err
	}
	return l.CheckDER(der)
}

// Render signs a copy of tmpl with a throwaway key of the issuer's
// algorithm. The result has tmpl's content but a worthless signature.
func (l *Linter) Render(tmpl, issuer *x509.Certificate) ([]byte, error) {
	signerPub := tmpl.PublicKey
	if issuer != nil {
		signerPub = issuer.PublicKey
	}
	key, err := l.throwaway(signerPub)
	if err != nil {
		return nil, err
	}
	t := *tmpl
	var parent x509.Certificate
	if issuer == nil {
		t.PublicKey = key.Public()
		parent = t
	} else {
		parent = *issuer
		parent.PublicKey = key.Public()
	}
	t.SignatureAlgorithm = x509.UnknownSignatureAlgorithm
	der, err := x509.CreateCertificate(rand.Reader, &t, &parent, t.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("lint: render: %w", err)
	}
	return der, nil
}

// CheckDER lints an encoded certificate.
func (l *Linter) CheckDER(der []byte) error {
	zc, err := zx509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("lint: parse rendered certificate: %w", err)
	}
	rs := zlint.LintCertificateEx(zc, l.reg)
	var findings []Finding
	for name, r := range rs.Results {
		switch r.Status {
		case zl.Warn, zl.Error, zl.Fatal:
			findings = append(findings, Finding{Lint: name, Status: r.Status.String(), Details: r.Details})
		}
	}
	if len(findings) == 0 {
		return nil
	}
	sort.Slice(findings, func(i, j int) bool { return findings[i].Lint < findings[j].Lint })
	return &Error{Subject: zc.Subject.String(), Findings: findings}
}

func (l *Linter) throwaway(pub crypto.PublicKey) (crypto.Signer, error) {
	var id string
	var gen func() (crypto.Signer, error)
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		id = "ec-" + k.Curve.Params().Name
		gen = func() (crypto.Signer, error) { return ecdsa.GenerateKey(k.Curve, rand.Reader) }
	case *rsa.PublicKey:
		id = fmt.Sprintf("rsa-%d", k.N.BitLen())
		gen = func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, k.N.BitLen()) }
	case ed25519.PublicKey:
		id = "ed25519"
		gen = func() (crypto.Signer, error) {
			_, priv, err := ed25519.GenerateKey(rand.Reader)
			return priv, err
		}
	default:
		return nil, errors.New("lint: unsupported issuer key type")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if k, ok := l.keys[id]; ok {
		return k, nil
	}
	k, err := gen()
	if err != nil {
		return nil, fmt.Errorf("lint: throwaway key: %w", err)
	}
	l.keys[id] = k
	return k, nil
}
