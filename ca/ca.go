package ca

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"embed"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/smallstep/certificates/authority"

	"kyso/audit"
	"kyso/auth"
	"kyso/ca/lint"
	"kyso/ca/profile"
	"kyso/credential"
	"kyso/hsm"
	"kyso/problem"
	"kyso/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the CA's schema migrations (component "ca").
func Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return migrations
	}
	return sub
}

// Migrate applies the CA's and the credential store's migrations.
func Migrate(ctx context.Context, db *store.DB) error {
	if err := db.Migrate(ctx, "ca", Migrations()); err != nil {
		return err
	}
	return db.Migrate(ctx, "credential", credential.Migrations())
}

// Roles of the entries in ca_authorities.
const (
	RoleRoot        = "root"
	RoleCitizenCA   = "citizen"
	RoleAgencyCA    = "agency"
	RoleOCSP        = "ocsp"
	RoleTSA         = "tsa"
	RoleServiceSeal = "service-seal"
	RoleTLS         = "tls"
)

// HSM key labels used by the ceremony.
const (
	LabelRoot        = "kyso-root-ca"
	LabelOCSP        = "kyso-ocsp-1"
	LabelTSA         = "kyso-tsa-1"
	LabelIdentity    = "kyso-identity-1"
	LabelServiceSeal = "kyso-service-seal-1"
	LabelTLS         = "kyso-tls-1"
)

// IssuingLabel is the HSM label of the n-th issuing CA of a role
// ("kyso-citizen-ca-1").
func IssuingLabel(role string, n int) string { return fmt.Sprintf("kyso-%s-ca-%d", role, n) }

// SealLabel is the HSM label of an agency's n-th seal key.
func SealLabel(agency string, n int) string { return fmt.Sprintf("seal-%s-%d", agency, n) }

// Config configures the CA at run time.
type Config struct {
	// BaseURL is the public URL the CRL, OCSP and CA certificate URLs
	// start with, e.g. "https://kyso.example.vn" (no trailing slash).
	BaseURL string
	// CRLShards is the number of CRL shards of each issuing CA (default 16).
	// A certificate's shard is fixed at issuance; changing the number only
	// affects certificates issued afterwards.
	CRLShards int
	// CRLValidity is nextUpdate - thisUpdate (default 24h); CRLs are
	// regenerated when less than half of it is left.
	CRLValidity time.Duration
	// OCSPValidity is nextUpdate - thisUpdate of OCSP responses (default
	// 24h); pre-signed responses are refreshed when less than half is left.
	OCSPValidity time.Duration
	// Validity overrides a profile's default validity.
	Validity map[profile.Name]time.Duration
	// PolicyArc overrides profile.DefaultPolicyArc.
	PolicyArc asn1.ObjectIdentifier
	// MaxIssuancePerDay bounds the certificates one citizen may obtain in
	// 24 hours (default 5).
	MaxIssuancePerDay int
	// Assurance is the lowest level of assurance of the citizen's
	// identity for each kind of enrolment (default auth.DefaultAssurance).
	Assurance auth.Assurance
	// MaxPINFailures locks a remote credential (default 5).
	MaxPINFailures int
	// RemoteKeyType is the HSM key type of citizens' remote keys (default
	// ECP256).
	RemoteKeyType hsm.KeyType
	// RootHSM is the token holding the root CA key. Only key ceremonies
	// set it: without it the root key is never loaded, the root signs
	// nothing, and the root's CRL is the one the last ceremony signed
	// (RootCRLValidity). `kyso serve` never opens the root token.
	RootHSM *hsm.HSM
	// RootCRLValidity is nextUpdate - thisUpdate of the root's CRL,
	// signed only in ceremonies (default 180 days).
	RootCRLValidity time.Duration
	// CitizenKeys makes and opens citizens' remote keys, wrapped under the
	// citizen-key token's derivation secret; nil refuses remote
	// enrolment and remote keys (ErrNoCitizenKeys).
	CitizenKeys *credential.Keys

	// Log, Audit and Replay are the CA's collaborators; Audit and Replay
	// may be nil (no audit trail; assertion replay unchecked). Every state
	// change (issuance, credential creation, revocation, hold, release)
	// appends its events in the transaction that makes the change: when
	// the append fails, the change is rolled back and the operation fails.
	Log    *slog.Logger
	Audit  Auditor
	Replay auth.ReplayGuard
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Auditor appends events to the audit log inside the caller's transaction
// (audit.Log implements it), so that an event commits exactly when the
// change it records does.
type Auditor interface {
	AppendTx(ctx context.Context, tx *sql.Tx, ev audit.Event) error
}

func (c Config) withDefaults() Config {
	if c.CRLShards <= 0 {
		c.CRLShards = 16
	}
	if c.CRLValidity <= 0 {
		c.CRLValidity = 24 * time.Hour
	}
	if c.OCSPValidity <= 0 {
		c.OCSPValidity = 24 * time.Hour
	}
	if c.RootCRLValidity <= 0 {
		c.RootCRLValidity = 180 * 24 * time.Hour
	}
	if c.MaxIssuancePerDay <= 0 {
		c.MaxIssuancePerDay = 5
	}
	if c.MaxPINFailures <= 0 {
		c.MaxPINFailures = 5
	}
	if c.RemoteKeyType == "" {
		c.RemoteKeyType = hsm.ECP256
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	return c
}

// Errors callers branch on.
var (
	ErrNotInitialized  = errors.New("ca: no key ceremony has been run")
	ErrUnknownIssuer   = problem.New(http.StatusNotFound, "unknown-issuer", "no such issuing CA")
	ErrNotFound        = problem.New(http.StatusNotFound, "certificate-not-found", "no such certificate")
	ErrUnknownProfile  = problem.New(http.StatusBadRequest, "unknown-profile", "no such certificate profile")
	ErrBadCSR          = problem.New(http.StatusBadRequest, "bad-csr", "the certificate signing request is invalid")
	ErrBadRequest      = problem.New(http.StatusBadRequest, "bad-request", "the request is invalid")
	ErrRateLimited     = problem.New(http.StatusTooManyRequests, "rate-limited", "too many certificates were issued to this citizen today")
	ErrAlreadyRevoked  = problem.New(http.StatusConflict, "already-revoked", "the certificate is already revoked")
	ErrNotOnHold       = problem.New(http.StatusConflict, "not-on-hold", "the certificate is not on hold")
	ErrBadReason       = problem.New(http.StatusBadRequest, "bad-reason", "unknown revocation reason")
	ErrForbidden       = problem.New(http.StatusForbidden, "forbidden", "only the certificate's owner or an officer may do this")
	ErrHoldByOfficer   = problem.New(http.StatusForbidden, "hold-by-officer", "an officer placed this hold; an officer must release it")
	ErrLintFailed      = problem.New(http.StatusInternalServerError, "lint-failed", "the certificate failed linting and was not issued")
	ErrCredentialTaken = problem.New(http.StatusConflict, "credential-exists", "the citizen already has an active remote credential for this profile")
	ErrRootOffline     = problem.New(http.StatusConflict, "root-offline", "the root CA key is used only in key ceremonies (kyso ceremony)")
	ErrNoCitizenKeys   = problem.New(http.StatusServiceUnavailable, "remote-keys-unavailable", "remote signing keys are not configured on this server")
)

// issuerCA is one CA that signs certificates, CRLs and (through its
// delegated responder) OCSP responses.
type issuerCA struct {
	name       string
	role       string
	cert       *x509.Certificate
	signer     crypto.Signer
	activateAt time.Time
	responder  *x509.Certificate // delegated OCSP responder certified by this CA
	step       *authority.Authority
	nameHash   map[crypto.Hash][]byte
	keyHash    map[crypto.Hash][]byte
	shards     int
}

// CA is the loaded certificate authority.
type CA struct {
	cfg    Config
	db     *store.DB
	h      *hsm.HSM
	creds  *credential.Store
	linter *lint.Linter
	authDB *authDB

	root      *x509.Certificate
	issuers   map[string]*issuerCA // by name, root included
	ocspKey   crypto.Signer
	tsaCert   *x509.Certificate
	tsaKey    crypto.Signer
	sealCert  *x509.Certificate
	sealKey   crypto.Signer
	tlsCert   *x509.Certificate
	tlsKey    crypto.Signer
	identity  crypto.Signer
	crlLocks  sync.Map // issuer/shard -> *sync.Mutex
	ocspLocks sync.Map // serial -> *sync.Mutex (not held long)
	// beforeOCSPStore, when set (tests), runs between signing a
	// pre-signed OCSP response and storing it.
	beforeOCSPStore func(der []byte)
}

type authorityRow struct {
	name, role, label, issuer string
	der                       []byte
	activateAt                int64
}

// Load reads the ceremony's certificates from the store, finds their keys
// in the HSM and builds one embedded smallstep authority per issuing CA.
// It returns ErrNotInitialized when no ceremony has been run.
func Load(ctx context.Context, db *store.DB, h *hsm.HSM, cfg Config) (*CA, error) {
	cfg = cfg.withDefaults()
	if err := Migrate(ctx, db); err != nil {
		return nil, fmt.Errorf("ca: migrate: %w", err)
	}
	linter, err := lint.New()
	if err != nil {
		return nil, err
	}
	c := &CA{cfg: cfg, db: db, h: h, creds: credential.NewStore(db).WithAudit(cfg.Audit), linter: linter, issuers: map[string]*issuerCA{}}
	c.authDB = &authDB{ca: c}
	rows, err := loadAuthorities(ctx, db)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, ErrNotInitialized
	}
	byName := map[string]*x509.Certificate{}
	for _, r := range rows {
		cert, err := x509.ParseCertificate(r.der)
		if err != nil {
			return nil, fmt.Errorf("ca: stored certificate %s: %w", r.name, err)
		}
		byName[r.name] = cert
	}
	keys := map[string]crypto.Signer{}
	key := func(label string) (crypto.Signer, error) {
		if k, ok := keys[label]; ok {
			return k, nil
		}
		k, err := h.FindKey(ctx, label)
		if err != nil {
			return nil, fmt.Errorf("ca: key %s: %w", label, err)
		}
		keys[label] = k
		return k, nil
	}
	for _, r := range rows {
		cert := byName[r.name]
		switch r.role {
		case RoleRoot, RoleCitizenCA, RoleAgencyCA:
			var k crypto.Signer
			switch {
			case r.role != RoleRoot:
				if k, err = key(r.label); err != nil {
					return nil, err
				}
			case cfg.RootHSM != nil:
				// A key ceremony: the root key is on its own token.
				rk, err := cfg.RootHSM.FindKey(ctx, r.label)
				if err != nil {
					return nil, fmt.Errorf("ca: root key %s: %w", r.label, err)
				}
				k = rk
			}
			ic := &issuerCA{name: r.name, role: r.role, cert: cert, signer: k, activateAt: time.UnixMilli(r.activateAt), shards: cfg.CRLShards}
			if r.role == RoleRoot {
				c.root = cert
				ic.shards = 1
			}
			ic.nameHash, ic.keyHash = issuerHashes(cert)
			c.issuers[r.name] = ic
		}
	}
	if c.root == nil {
		return nil, errors.New("ca: the store has no root certificate")
	}
	for _, r := range rows {
		cert := byName[r.name]
		var err error
		switch r.role {
		case RoleOCSP:
			ic, ok := c.issuers[r.issuer]
			if !ok {
				return nil, fmt.Errorf("ca: responder %s: unknown issuer %s", r.name, r.issuer)
			}
			ic.responder = cert
			if c.ocspKey == nil {
				c.ocspKey, err = key(r.label)
			}
		case RoleTSA:
			c.tsaCert = cert
			c.tsaKey, err = key(r.label)
		case RoleServiceSeal:
			c.sealCert = cert
			c.sealKey, err = key(r.label)
		case RoleTLS:
			c.tlsCert = cert
			c.tlsKey, err = key(r.label)
		}
		if err != nil {
			return nil, err
		}
	}
	if k, err := h.FindKey(ctx, LabelIdentity); err == nil {
		c.identity = k
	} else if !errors.Is(err, hsm.ErrKeyNotFound) {
		return nil, fmt.Errorf("ca: identity key: %w", err)
	}
	for _, ic := range c.issuers {
		if ic.role == RoleRoot {
			continue
		}
		if ic.shards, err = shardCount(ctx, db, ic.name, cfg.CRLShards); err != nil {
			return nil, err
		}
		if ic.responder == nil {
			return nil, fmt.Errorf("ca: issuing CA %s has no OCSP responder certificate", ic.name)
		}
		if ic.step, err = c.newAuthority(ic); err != nil {
			return nil, err
		}
	}
	if c.issuers[RoleRoot] != nil && c.issuers[RoleRoot].responder == nil {
		return nil, errors.New("ca: root has no OCSP responder certificate")
	}
	return c, nil
}

// shardCount returns the number of CRL shards of an issuer: the configured
// number, or more when an earlier configuration used more (certificates
// keep the shard they were given, so its CRL must go on being published).
func shardCount(ctx context.Context, db *store.DB, issuer string, configured int) (int, error) {
	var stored int
	err := db.QueryRowContext(ctx, `SELECT shards FROM ca_crl_shards WHERE issuer = $1`, issuer).Scan(&stored)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("ca: CRL shard count: %w", err)
	}
	if stored >= configured {
		return stored, nil
	}
	_, err = db.ExecContext(ctx, `INSERT INTO ca_crl_shards (issuer, shards) VALUES ($1, $2)
		ON CONFLICT (issuer) DO UPDATE SET shards = excluded.shards WHERE ca_crl_shards.shards < excluded.shards`, issuer, configured)
	if err != nil {
		return 0, fmt.Errorf("ca: CRL shard count: %w", err)
	}
	return configured, nil
}

func loadAuthorities(ctx context.Context, db *store.DB) ([]authorityRow, error) {
	rs, err := db.QueryContext(ctx, `SELECT name, role, key_label, issuer, cert_der, activate_at FROM ca_authorities ORDER BY created_at, name`)
	if err != nil {
		return nil, fmt.Errorf("ca: load authorities: %w", err)
	}
	defer rs.Close()
	var out []authorityRow
	for rs.Next() {
		var r authorityRow
		if err := rs.Scan(&r.name, &r.role, &r.label, &r.issuer, &r.der, &r.activateAt); err != nil {
			return nil, fmt.Errorf("ca: load authorities: %w", err)
		}
		out = append(out, r)
	}
	return out, rs.Err()
}

// issuerHashes returns the CertID hashes of a CA for every supported hash.
func issuerHashes(cert *x509.Certificate) (map[crypto.Hash][]byte, map[crypto.Hash][]byte) {
	var spki struct {
		Algorithm asn1.RawValue
		Key       asn1.BitString
	}
	_, _ = asn1.Unmarshal(cert.RawSubjectPublicKeyInfo, &spki)
	names, keys := map[crypto.Hash][]byte{}, map[crypto.Hash][]byte{}
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		n := h.New()
		n.Write(cert.RawSubject)
		names[h] = n.Sum(nil)
		k := h.New()
		k.Write(spki.Key.Bytes)
		keys[h] = k.Sum(nil)
	}
	return names, keys
}

// Fingerprint is the SHA-256 fingerprint of a certificate in upper-case
// colon-separated hex, as openssl prints it.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// Root returns the root certificate.
func (c *CA) Root() *x509.Certificate { return c.root }

// activeIssuer returns the issuing CA of a role in use now: the latest
// whose activation time has passed and which is still valid.
func (c *CA) activeIssuer(role string) (*issuerCA, error) {
	now := c.cfg.Now()
	var best *issuerCA
	for _, ic := range c.issuers {
		if ic.role != role || ic.activateAt.After(now) || !now.Before(ic.cert.NotAfter) {
			continue
		}
		if best == nil || ic.activateAt.After(best.activateAt) {
			best = ic
		}
	}
	if best == nil {
		return nil, fmt.Errorf("ca: no active %s CA", role)
	}
	return best, nil
}

// CitizenIssuer returns the issuing CA for citizens in use now.
func (c *CA) CitizenIssuer() (*x509.Certificate, crypto.Signer) {
	ic, err := c.activeIssuer(RoleCitizenCA)
	if err != nil {
		return nil, nil
	}
	return ic.cert, ic.signer
}

// AgencyIssuer returns the issuing CA for agency seals and officers in use
// now.
func (c *CA) AgencyIssuer() (*x509.Certificate, crypto.Signer) {
	ic, err := c.activeIssuer(RoleAgencyCA)
	if err != nil {
		return nil, nil
	}
	return ic.cert, ic.signer
}

// OCSPResponder returns the delegated OCSP responder certificate of the
// citizen CA in use and the responder key (the same key is certified by
// every CA; see ResponderFor).
func (c *CA) OCSPResponder() (*x509.Certificate, crypto.Signer) {
	ic, err := c.activeIssuer(RoleCitizenCA)
	if err != nil {
		return nil, nil
	}
	return ic.responder, c.ocspKey
}

// ResponderFor returns the responder certificate certified by the named
// CA.
func (c *CA) ResponderFor(issuer string) (*x509.Certificate, bool) {
	ic, ok := c.issuers[issuer]
	if !ok {
		return nil, false
	}
	return ic.responder, true
}

// TSA returns the time-stamping unit's certificate and key.
func (c *CA) TSA() (*x509.Certificate, crypto.Signer) { return c.tsaCert, c.tsaKey }

// IdentityKey returns the identity-assertion signing key (nil when the
// ceremony did not create one).
func (c *CA) IdentityKey() crypto.Signer { return c.identity }

// ServiceSeal returns the service's own seal certificate and key.
func (c *CA) ServiceSeal() (*x509.Certificate, crypto.Signer) { return c.sealCert, c.sealKey }

// TLSServer returns the service's TLS server certificate and key, if the
// ceremony made one.
func (c *CA) TLSServer() (*x509.Certificate, crypto.Signer) { return c.tlsCert, c.tlsKey }

// Credentials returns the credential store the CA writes to.
func (c *CA) Credentials() *credential.Store { return c.creds }

// IssuerInfo describes one CA certificate.
type IssuerInfo struct {
	Name        string
	Role        string
	Certificate *x509.Certificate
	Active      bool
}

// Issuers returns the root and every issuing CA, root first, then by name.
func (c *CA) Issuers() []IssuerInfo {
	var out []IssuerInfo
	for _, ic := range c.issuers {
		active := false
		if a, err := c.activeIssuer(ic.role); err == nil && a == ic {
			active = true
		}
		out = append(out, IssuerInfo{Name: ic.name, Role: ic.role, Certificate: ic.cert, Active: active || ic.role == RoleRoot})
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i].Role == RoleRoot) != (out[j].Role == RoleRoot) {
			return out[i].Role == RoleRoot
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// IssuerCertificate returns a CA certificate by issuer name.
func (c *CA) IssuerCertificate(name string) (*x509.Certificate, error) {
	ic, ok := c.issuers[name]
	if !ok {
		return nil, ErrUnknownIssuer
	}
	return ic.cert, nil
}

// chainFor returns the chain above a leaf of ic: the issuing CA (not the
// root).
func (c *CA) chainFor(ic *issuerCA) []*x509.Certificate {
	if ic.role == RoleRoot {
		return nil
	}
	return []*x509.Certificate{ic.cert}
}

// auditTx appends ev in tx, the transaction of the change it records. Its
// error must fail (and so roll back) that transaction: an acknowledged
// change always has its audit record. The error is not a problem.Error, so
// clients see a 500 without detail.
func (c *CA) auditTx(ctx context.Context, tx *sql.Tx, ev audit.Event) error {
	if c.cfg.Audit == nil {
		return nil
	}
	if err := c.cfg.Audit.AppendTx(ctx, tx, ev); err != nil {
		return fmt.Errorf("ca: audit %s %s: %w", ev.Action, ev.Object, err)
	}
	return nil
}

// actor returns audit fields for a principal (nil: the CA itself).
func actor(p *auth.Principal) (string, string) {
	if p == nil {
		return "kyso-ca", "system"
	}
	return p.Subject, string(p.Role)
}

// execer is satisfied by *sql.DB and *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

// TLSCertificate returns the service's TLS server certificate with its
// issuing CA, signing with the HSM key, for tls.Config.Certificates.
func (c *CA) TLSCertificate() (*tls.Certificate, error) {
	if c.tlsCert == nil || c.tlsKey == nil {
		return nil, errors.New("ca: the ceremony made no TLS server certificate")
	}
	chain := [][]byte{c.tlsCert.Raw}
	for _, ic := range c.issuers {
		if ic.role != RoleRoot && bytes.Equal(ic.cert.RawSubject, c.tlsCert.RawIssuer) {
			chain = append(chain, ic.cert.Raw)
			break
		}
	}
	return &tls.Certificate{Certificate: chain, PrivateKey: c.tlsKey, Leaf: c.tlsCert}, nil
}
