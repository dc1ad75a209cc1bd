// Package policy holds the validation policy of the verifier: which digest
// and public-key algorithms are acceptable until when (ETSI TS 119 312),
// how fresh revocation data must be, and what the signing certificate's
// key usage and extended key usage must allow. A policy is a YAML file, in
// the spirit of EU DSS's constraint file; the default (default.yaml) is
// embedded and documented in docs/validation.md.
package policy

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"crypto/x509"
	"encoding/asn1"

	"gopkg.in/yaml.v3"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns the text of the default policy.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }

// Policy is a parsed validation policy.
type Policy struct {
	digests map[crypto.Hash]time.Time
	rsa     []rsaRule
	keys    map[string]time.Time // ECDSA-P256, Ed25519, …
	// Freshness is the revocation freshness window (0: the evidence's own
	// validity period).
	Freshness time.Duration
	// ClockSkew is how far after the current time revocation evidence may
	// say it was issued (0: the revocation checker's default).
	ClockSkew time.Duration
	keyUsage  x509.KeyUsage
	refuseCA  bool
	eku       map[string][]asn1.ObjectIdentifier
}

type rsaRule struct {
	bits  int
	until time.Time
}

type file struct {
	Digests map[string]string `yaml:"digests"`
	Keys    map[string]string `yaml:"keys"`
	// Pointers tell a section or setting left out from one written
	// empty: everything but the revocation durations must be written out.
	Revocation *struct {
		Freshness string `yaml:"freshness"`
		ClockSkew string `yaml:"clock_skew"`
	} `yaml:"revocation"`
	Signer *struct {
		KeyUsage         *[]string            `yaml:"key_usage"`
		RefuseCA         *bool                `yaml:"refuse_ca"`
		ExtendedKeyUsage *map[string][]string `yaml:"extended_key_usage"`
	} `yaml:"signer"`
}

// missing names the first section or setting a policy file leaves out.
func (f *file) missing() string {
	switch {
	case f.Revocation == nil:
		return "revocation"
	case f.Signer == nil:
		return "signer"
	case f.Signer.KeyUsage == nil:
		return "signer.key_usage"
	case f.Signer.RefuseCA == nil:
		return "signer.refuse_ca"
	case f.Signer.ExtendedKeyUsage == nil:
		return "signer.extended_key_usage"
	}
	return ""
}

var digestNames = map[string]crypto.Hash{
	"SHA-1": crypto.SHA1, "SHA-224": crypto.SHA224, "SHA-256": crypto.SHA256, "SHA-384": crypto.SHA384, "SHA-512": crypto.SHA512,
	"SHA3-256": crypto.SHA3_256, "SHA3-384": crypto.SHA3_384, "SHA3-512": crypto.SHA3_512,
}

var keyUsageNames = map[string]x509.KeyUsage{
	"digitalSignature": x509.KeyUsageDigitalSignature, "nonRepudiation": x509.KeyUsageContentCommitment, "contentCommitment": x509.KeyUsageContentCommitment,
}

// EKU names a policy may use.
var ekuNames = map[string]asn1.ObjectIdentifier{
	"anyExtendedKeyUsage":          {2, 5, 29, 37, 0},
	"documentSigning":              {1, 3, 6, 1, 5, 5, 7, 3, 36}, // RFC 9336
	"emailProtection":              {1, 3, 6, 1, 5, 5, 7, 3, 4},
	"adobeAuthenticDocumentsTrust": {1, 2, 840, 113583, 1, 1, 5},
	"msDocumentSigning":            {1, 3, 6, 1, 4, 1, 311, 10, 3, 12},
	"codeSigning":                  {1, 3, 6, 1, 5, 5, 7, 3, 3},
	"clientAuth":                   {1, 3, 6, 1, 5, 5, 7, 3, 2},
	"serverAuth":                   {1, 3, 6, 1, 5, 5, 7, 3, 1},
	"timeStamping":                 {1, 3, 6, 1, 5, 5, 7, 3, 8},
}

var knownKeys = map[string]bool{
	"ECDSA-P256": true, "ECDSA-P384": true, "ECDSA-P521": true,
	"ECDSA-brainpoolP256r1": true, "ECDSA-brainpoolP384r1": true, "ECDSA-brainpoolP512r1": true,
	"Ed25519": true, "Ed448": true,
}

// MaxSize bounds a policy file.
const MaxSize = 1 << 20

func parseDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	return t, nil
}

// Parse reads a policy. Every section must be present: a policy says what
// it accepts rather than inheriting silently.
func Parse(data []byte) (*Policy, error) {
	if len(data) > MaxSize {
		return nil, errors.New("policy: file too large")
	}
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if len(f.Digests) == 0 || len(f.Keys) == 0 {
		return nil, errors.New("policy: digests and keys must list the acceptable algorithms")
	}
	if m := f.missing(); m != "" {
		return nil, fmt.Errorf("policy: %s is missing: every section and signer setting must be written out", m)
	}
	p := &Policy{digests: map[crypto.Hash]time.Time{}, keys: map[string]time.Time{}, refuseCA: *f.Signer.RefuseCA, eku: map[string][]asn1.ObjectIdentifier{}}
	for name, d := range f.Digests {
		h, ok := digestNames[name]
		if !ok {
			return nil, fmt.Errorf("policy: unknown digest %q", name)
		}
		t, err := parseDate(d)
		if err != nil {
			return nil, fmt.Errorf("policy: digests.%s: %w", name, err)
		}
		p.digests[h] = t
	}
	for name, d := range f.Keys {
		t, err := parseDate(d)
		if err != nil {
			return nil, fmt.Errorf("policy: keys.%s: %w", name, err)
		}
		switch {
		case strings.HasPrefix(name, "RSA-"):
			bits, err := strconv.Atoi(strings.TrimPrefix(name, "RSA-"))
			if err != nil || bits < 512 || bits > 16384 {
				return nil, fmt.Errorf("policy: keys.%s: want RSA-<bits>", name)
			}
			p.rsa = append(p.rsa, rsaRule{bits, t})
		case knownKeys[normalizeKey(name)]:
			p.keys[normalizeKey(name)] = t
		default:
			return nil, fmt.Errorf("policy: unknown key algorithm %q", name)
		}
	}
	sort.Slice(p.rsa, func(i, j int) bool { return p.rsa[i].bits < p.rsa[j].bits })
	if s := f.Revocation.Freshness; s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("policy: revocation.freshness %q: want a duration such as 24h", s)
		}
		p.Freshness = d
	}
	if s := f.Revocation.ClockSkew; s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 || d > 24*time.Hour {
			return nil, fmt.Errorf("policy: revocation.clock_skew %q: want a duration such as 5m, at most 24h", s)
		}
		p.ClockSkew = d
	}
	for _, n := range *f.Signer.KeyUsage {
		ku, ok := keyUsageNames[n]
		if !ok {
			return nil, fmt.Errorf("policy: unknown key usage %q", n)
		}
		p.keyUsage |= ku
	}
	for name, names := range *f.Signer.ExtendedKeyUsage {
		format, ok := ekuFormat(name)
		if !ok {
			return nil, fmt.Errorf("policy: signer.extended_key_usage: unknown format %q (PDF, CMS, JWS or default)", name)
		}
		if _, dup := p.eku[format]; dup {
			return nil, fmt.Errorf("policy: signer.extended_key_usage: format %q listed twice", name)
		}
		p.eku[format] = []asn1.ObjectIdentifier{}
		for _, n := range names {
			oid, ok := ekuNames[n]
			if !ok {
				if oid, ok = parseOID(n); !ok {
					return nil, fmt.Errorf("policy: unknown extended key usage %q", n)
				}
			}
			p.eku[format] = append(p.eku[format], oid)
		}
	}
	return p, nil
}

// ekuFormat names the formats signer.extended_key_usage may list, in any
// case: a misspelt format must not silently fall back to the default list.
func ekuFormat(name string) (string, bool) {
	switch up := strings.ToUpper(name); up {
	case "PDF", "CMS", "JWS":
		return up, true
	case "DEFAULT":
		return "default", true
	}
	return "", false
}

func parseOID(s string) (asn1.ObjectIdentifier, bool) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return nil, false
	}
	var oid asn1.ObjectIdentifier
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, false
		}
		oid = append(oid, n)
	}
	return oid, true
}

// Load reads a policy file; an empty path gives the embedded default.
func Load(path string) (*Policy, error) {
	if path == "" {
		return Default(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("policy: read %s: %w", path, err)
	}
	p, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Default returns the embedded default policy.
func Default() *Policy {
	p, err := Parse(defaultYAML)
	if err != nil {
		panic("policy: embedded default: " + err.Error())
	}
	return p
}

// Sunset says until when an algorithm is acceptable. Never means not
// acceptable at all; otherwise a zero Until means no end date.
type Sunset struct {
	Name  string
	Until time.Time
	Never bool
}

// AcceptableAt reports whether the algorithm may have been used at t.
func (s Sunset) AcceptableAt(t time.Time) bool {
	return !s.Never && (s.Until.IsZero() || t.Before(s.Until))
}

// Digest returns the sunset of a digest algorithm.
func (p *Policy) Digest(h crypto.Hash) Sunset {
	name := h.String()
	t, ok := p.digests[h]
	if !ok {
		return Sunset{Name: name, Never: true}
	}
	return Sunset{Name: name, Until: t}
}

// Key returns the sunset of a public key's algorithm and size.
func (p *Policy) Key(pub crypto.PublicKey) Sunset {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return p.RSA(k.N.BitLen())
	case *ecdsa.PublicKey:
		return p.Named("ECDSA-" + k.Curve.Params().Name)
	case ed25519.PublicKey:
		return p.Named("Ed25519")
	}
	return Sunset{Name: fmt.Sprintf("%T", pub), Never: true}
}

// RSA returns the sunset of an RSA key of the given modulus size.
func (p *Policy) RSA(bits int) Sunset {
	name := fmt.Sprintf("RSA-%d", bits)
	var best *rsaRule
	for i := range p.rsa {
		if p.rsa[i].bits <= bits {
			best = &p.rsa[i]
		}
	}
	if best == nil {
		return Sunset{Name: name, Never: true}
	}
	return Sunset{Name: name, Until: best.until}
}

// Named returns the sunset of a key algorithm by name: "ECDSA-" and a
// curve name (P-256 or P256, brainpoolP256r1, …), "Ed25519" or "Ed448".
func (p *Policy) Named(name string) Sunset {
	name = normalizeKey(name)
	t, ok := p.keys[name]
	return Sunset{Name: name, Until: t, Never: !ok}
}

func normalizeKey(name string) string {
	if c, ok := strings.CutPrefix(name, "ECDSA-"); ok {
		return "ECDSA-" + strings.ReplaceAll(c, "-", "")
	}
	return name
}

// Earliest returns the sunset that comes first.
func Earliest(s ...Sunset) Sunset {
	out := Sunset{}
	for _, x := range s {
		switch {
		case x.Never && !out.Never:
			out = x
		case out.Never:
		case out.Name == "" || (!x.Until.IsZero() && (out.Until.IsZero() || x.Until.Before(out.Until))):
			out = x
		}
	}
	return out
}

// SignerCertificate checks the signing certificate of a document of the
// given format (PDF, CMS, JWS) against the key usage and extended key usage
// rules. The warning is set when the certificate has no keyUsage.
func (p *Policy) SignerCertificate(c *x509.Certificate, format string) (warning string, err error) {
	if p.refuseCA && c.BasicConstraintsValid && c.IsCA {
		return "", errors.New("the signing certificate is a CA certificate")
	}
	if p.keyUsage != 0 {
		if c.KeyUsage == 0 {
			warning = "the signing certificate has no keyUsage"
		} else if c.KeyUsage&p.keyUsage == 0 {
			return "", errors.New("the signing certificate's keyUsage allows neither digitalSignature nor nonRepudiation")
		}
	}
	allowed, ok := p.eku[format]
	if !ok {
		allowed = p.eku["default"]
	}
	if len(allowed) == 0 || !hasEKUExtension(c) {
		return warning, nil
	}
	for _, u := range certEKUs(c) {
		if slices.ContainsFunc(allowed, u.Equal) {
			return warning, nil
		}
	}
	return "", fmt.Errorf("the signing certificate's extendedKeyUsage does not allow signing %s documents", format)
}

var oidEKU = asn1.ObjectIdentifier{2, 5, 29, 37}

func hasEKUExtension(c *x509.Certificate) bool {
	for _, e := range c.Extensions {
		if e.Id.Equal(oidEKU) {
			return true
		}
	}
	return false
}

func certEKUs(c *x509.Certificate) []asn1.ObjectIdentifier {
	for _, e := range c.Extensions {
		if e.Id.Equal(oidEKU) {
			var oids []asn1.ObjectIdentifier
			asn1.Unmarshal(e.Value, &oids)
			return oids
		}
	}
	return nil
}
