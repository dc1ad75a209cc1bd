package csc

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"kyso/audit"
	"kyso/auth"
	"kyso/credential"
	"kyso/problem"
	"kyso/signer"
	"kyso/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates the SAD table.
func Migrate(ctx context.Context, db *store.DB) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	return db.Migrate(ctx, "csc", sub)
}

// Credentials is the part of credential.Store the service uses.
type Credentials interface {
	Get(ctx context.Context, id string) (*credential.Credential, error)
	ListBySubject(ctx context.Context, kind, subject string) ([]credential.Credential, error)
}

// CitizenKeys opens citizens' keys (credential.Keys implements it): only
// the citizen's PIN yields the activation data that opens their key.
type CitizenKeys interface {
	// Activate checks the PIN, counting the attempt, and returns the
	// activation data of the credential's key.
	Activate(ctx context.Context, c *credential.Credential, pin string, maxFailures int) ([]byte, error)
	// OpenSigner returns the key opened with activation data.
	OpenSigner(ctx context.Context, c *credential.Credential, activation []byte) (crypto.Signer, error)
}

// KeyFunc finds the HSM key with a label (agency seals).
type KeyFunc func(ctx context.Context, label string) (crypto.Signer, error)

// Auditor records events (audit.Log implements it).
type Auditor interface {
	Append(ctx context.Context, ev audit.Event) error
}

// Config tunes the service; zero values take the defaults.
type Config struct {
	// MaxPINFailures locks a credential (default 5).
	MaxPINFailures int
	// SADLifetime is how long an authorization lasts (default 5 minutes).
	SADLifetime time.Duration
	// AssertionMaxAge is how old an identity assertion may be to activate
	// a key (default 10 minutes).
	AssertionMaxAge time.Duration
	// MaxSignatures per authorization (default 20).
	MaxSignatures int
	Now           func() time.Time
}

// Service is the remote signing service.
type Service struct {
	db      *store.DB
	creds   Credentials
	citizen CitizenKeys
	keys    KeyFunc
	audit   Auditor
	deps    signer.Deps
	cfg     Config
}

// New returns a Service. Run Migrate first. citizen opens citizens' keys,
// seals finds agency seal keys by label.
func New(db *store.DB, creds Credentials, citizen CitizenKeys, seals KeyFunc, auditor Auditor, deps signer.Deps, cfg Config) *Service {
	if cfg.MaxPINFailures <= 0 {
		cfg.MaxPINFailures = 5
	}
	if cfg.SADLifetime <= 0 {
		cfg.SADLifetime = 5 * time.Minute
	}
	if cfg.AssertionMaxAge <= 0 {
		cfg.AssertionMaxAge = 10 * time.Minute
	}
	if cfg.MaxSignatures <= 0 {
		cfg.MaxSignatures = 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{db: db, creds: creds, citizen: citizen, keys: seals, audit: auditor, deps: deps, cfg: cfg}
}

// Deps returns the time-stamp and revocation sources.
func (s *Service) Deps() signer.Deps { return s.deps }

// cscError builds a problem that also carries CSC's error members.
func cscError(status int, code, cscCode, detail string) *problem.Error {
	return problem.New(status, code, detail).With("error", cscCode).With("error_description", detail)
}

// withCSC adds CSC's error members to a problem from elsewhere.
func withCSC(err error) error {
	p, ok := problem.As(err)
	if !ok {
		return err
	}
	code := "invalid_request"
	if p.Status == http.StatusForbidden || p.Status == http.StatusUnauthorized {
		code = "access_denied"
	}
	if p.Code == "wrong-pin" || p.Code == "credential-locked" {
		code = "invalid_request"
	}
	desc := p.Detail
	if desc == "" {
		desc = p.Code
	}
	return p.With("error", code).With("error_description", desc)
}

// Errors callers and tests branch on (compare with errors.Is).
var (
	ErrNotCitizenOrAgency = cscError(http.StatusForbidden, "forbidden", "access_denied", "only citizens and agencies sign")
	ErrAssertionExpired   = cscError(http.StatusUnauthorized, "assertion-expired", "access_denied", "the identity assertion has expired")
	ErrAssertionStale     = cscError(http.StatusUnauthorized, "assertion-stale", "access_denied", "a fresh identity assertion is needed to sign")
	ErrNotOwner           = cscError(http.StatusForbidden, "credential-forbidden", "access_denied", "the credential belongs to someone else")
	ErrInvalidSAD         = cscError(http.StatusBadRequest, "invalid-sad", "invalid_request", "the SAD is invalid, expired, already used or not for this request")
	ErrPINRequired        = cscError(http.StatusBadRequest, "pin-required", "invalid_request", "the signing PIN is required")
)

func badRequest(format string, args ...any) *problem.Error {
	d := fmt.Sprintf(format, args...)
	return cscError(http.StatusBadRequest, "bad-request", "invalid_request", d)
}

// Activation is a usable key: the credential, its certificate, and a
// signer that records every signature in the audit log.
type Activation struct {
	Credential *credential.Credential
	Key        signer.Key
}

// checkPrincipal checks role and, for citizens, assertion freshness.
func (s *Service) checkPrincipal(p *auth.Principal) error {
	if p == nil {
		return auth.ErrUnauthenticated
	}
	switch p.Role {
	case auth.RoleCitizen:
		a := p.Assertion
		if a == nil {
			return ErrAssertionStale
		}
		now := s.cfg.Now()
		if !now.Before(a.Expiry) {
			return ErrAssertionExpired
		}
		if now.Sub(a.IssuedAt) > s.cfg.AssertionMaxAge {
			return ErrAssertionStale
		}
		return nil
	case auth.RoleAgency:
		if p.AgencyCode == "" {
			return ErrNotCitizenOrAgency
		}
		return nil
	}
	return ErrNotCitizenOrAgency
}

// credentialFor loads a credential the principal may use.
func (s *Service) credentialFor(ctx context.Context, p *auth.Principal, id string) (*credential.Credential, error) {
	if id == "" {
		return nil, badRequest("credentialID is required")
	}
	c, err := s.creds.Get(ctx, id)
	if err != nil {
		return nil, withCSC(err)
	}
	switch p.Role {
	case auth.RoleCitizen:
		if c.Kind != credential.KindCitizen || c.Subject != p.Subject {
			return nil, ErrNotOwner
		}
	case auth.RoleAgency:
		if c.Kind != credential.KindSeal || (c.AgencyCode != p.AgencyCode && c.Subject != p.AgencyCode) {
			return nil, ErrNotOwner
		}
	}
	switch c.Status {
	case credential.StatusActive:
	case credential.StatusLocked:
		return nil, withCSC(credential.ErrLocked)
	default:
		return nil, withCSC(credential.ErrInactive)
	}
	// No signature under a certificate that is not valid now.
	cert, err := c.Certificate()
	if err != nil {
		return nil, fmt.Errorf("csc: credential %s certificate: %w", c.ID, err)
	}
	if now := s.cfg.Now(); now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return nil, withCSC(credential.ErrCertificateExpired)
	}
	return c, nil
}

// checkPIN verifies a citizen's PIN and returns the activation data of the
// key (agencies have no PIN, and nil activation data).
func (s *Service) checkPIN(ctx context.Context, p *auth.Principal, c *credential.Credential, pin string) ([]byte, error) {
	if p.Role != auth.RoleCitizen {
		return nil, nil
	}
	if pin == "" {
		return nil, ErrPINRequired
	}
	act, err := s.citizen.Activate(ctx, c, pin, s.cfg.MaxPINFailures)
	if err != nil {
		if aerr := s.audit.Append(ctx, audit.Event{Actor: p.Subject, Role: string(p.Role), Action: "signature.pin-refused", Object: "credential:" + c.ID,
			Details: map[string]any{"reason": errCode(err)}}); aerr != nil {
			// A refusal that cannot be recorded is still a refusal, but
			// the caller learns that the service is not working.
			return nil, fmt.Errorf("csc: recording a refused PIN (%v): %w", err, ErrAuditUnavailable)
		}
		return nil, withCSC(err)
	}
	return act, nil
}

// ErrAuditUnavailable is returned when an event that must be recorded
// cannot be: the operation is refused.
var ErrAuditUnavailable = problem.New(http.StatusServiceUnavailable, "audit-unavailable", "the audit log cannot record this operation; it was refused")

func errCode(err error) string {
	if p, ok := problem.As(err); ok {
		return p.Code
	}
	return "error"
}

// key builds the audited key of a credential: a citizen's opened with the
// activation data, an agency's seal found by its label.
func (s *Service) key(ctx context.Context, p *auth.Principal, c *credential.Credential, client string, activation []byte) (signer.Key, error) {
	cert, err := x509.ParseCertificate(c.CertDER)
	if err != nil {
		return signer.Key{}, fmt.Errorf("csc: credential %s certificate: %w", c.ID, err)
	}
	var chain []*x509.Certificate
	for _, der := range c.ChainDER {
		ic, err := x509.ParseCertificate(der)
		if err != nil {
			return signer.Key{}, fmt.Errorf("csc: credential %s chain: %w", c.ID, err)
		}
		chain = append(chain, ic)
	}
	var k crypto.Signer
	if c.Kind == credential.KindCitizen {
		k, err = s.citizen.OpenSigner(ctx, c, activation)
	} else {
		k, err = s.keys(ctx, c.KeyLabel)
	}
	if err != nil {
		if _, ok := problem.As(err); ok {
			return signer.Key{}, withCSC(err)
		}
		return signer.Key{}, fmt.Errorf("csc: key of credential %s: %w", c.ID, err)
	}
	return signer.Key{Signer: &auditedSigner{ctx: ctx, inner: k, log: s.audit, actor: p.Subject, role: string(p.Role), credID: c.ID, client: client}, Cert: cert, Chain: chain}, nil
}

// Activate checks the principal, the credential and (for citizens) the PIN
// and returns the key for one request of the plain signing endpoints. A
// citizen passes credentialID and pin; an agency passes its seal's
// credential ID.
func (s *Service) Activate(ctx context.Context, p *auth.Principal, credentialID, pin, client string) (*Activation, error) {
	if err := s.checkPrincipal(p); err != nil {
		return nil, err
	}
	c, err := s.credentialFor(ctx, p, credentialID)
	if err != nil {
		return nil, err
	}
	act, err := s.checkPIN(ctx, p, c, pin)
	if err != nil {
		return nil, err
	}
	k, err := s.key(ctx, p, c, client, act)
	if err != nil {
		return nil, err
	}
	return &Activation{Credential: c, Key: k}, nil
}

// auditedSigner appends an audit event before each private-key operation.
type auditedSigner struct {
	ctx    context.Context
	inner  crypto.Signer
	log    Auditor
	actor  string
	role   string
	credID string
	client string

	mu  sync.Mutex
	ids []string // audit entries written, in order
}

// AuditEntries returns the ids of the audit log entries of the signatures
// made with the activation's key, in order.
func (a *Activation) AuditEntries() []string {
	as, ok := a.Key.Signer.(*auditedSigner)
	if !ok {
		return nil
	}
	as.mu.Lock()
	defer as.mu.Unlock()
	return append([]string(nil), as.ids...)
}

func (a *auditedSigner) Public() crypto.PublicKey { return a.inner.Public() }

func (a *auditedSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	ev := audit.Event{ID: audit.NewID(), Actor: a.actor, Role: a.role, Action: "signature.create", Object: "credential:" + a.credID,
		Details: map[string]any{"hash": hex.EncodeToString(digest), "hash_alg": opts.HashFunc().String(), "client": a.client}}
	if err := a.log.Append(a.ctx, ev); err != nil {
		return nil, fmt.Errorf("csc: audit before signing: %w", err)
	}
	a.mu.Lock()
	a.ids = append(a.ids, ev.ID)
	a.mu.Unlock()
	return a.inner.Sign(r, digest, opts)
}

// hash algorithm OIDs (CSC hashAlgorithmOID).
var hashOIDs = map[string]crypto.Hash{
	"2.16.840.1.101.3.4.2.1": crypto.SHA256,
	"2.16.840.1.101.3.4.2.2": crypto.SHA384,
	"2.16.840.1.101.3.4.2.3": crypto.SHA512,
}

func hashOID(h crypto.Hash) string {
	for k, v := range hashOIDs {
		if v == h {
			return k
		}
	}
	return ""
}

// normHashes decodes base64 hashes, checks their length and returns them
// re-encoded (standard base64) and sorted, for binding.
func normHashes(in []string, h crypto.Hash, max int) ([]string, [][]byte, error) {
	if len(in) == 0 {
		return nil, nil, badRequest("hashes are required")
	}
	if len(in) > max {
		return nil, nil, badRequest("at most %d hashes per request", max)
	}
	var out []string
	var raw [][]byte
	for _, s := range in {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			b, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
		}
		if err != nil || len(b) != h.Size() {
			return nil, nil, badRequest("each hash must be a base64 %s digest", h)
		}
		out = append(out, base64.StdEncoding.EncodeToString(b))
		raw = append(raw, b)
	}
	sorted := append([]string(nil), out...)
	sort.Strings(sorted)
	return sorted, raw, nil
}

func sadKey(sad string) string {
	sum := sha256.Sum256([]byte(sad))
	return hex.EncodeToString(sum[:])
}

// authorization is a stored SAD.
type authorization struct {
	credentialID, subject, role, hashAlg, hashes string
	numSignatures                                int
	expires                                      int64
	activation                                   []byte
}

// sadAEAD returns the AEAD that seals a citizen's activation data under a
// SAD. The database keeps only a hash of the SAD, so the sealed activation
// data opens only when the client presents the SAD again: the SAD carries
// the citizen's authorisation from credentials/authorize to signHash
// without the server keeping anything that opens the key by itself.
func sadAEAD(sad string) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, []byte(sad), nil, "kyso csc SAD activation v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sadAAD binds the sealed activation data to what the SAD authorizes.
func sadAAD(credID, hashes string) []byte { return []byte(credID + "\n" + hashes) }

// sealActivation encrypts activation data under the SAD (nil: nothing).
func sealActivation(sad, credID, hashes string, act []byte) ([]byte, error) {
	if len(act) == 0 {
		return nil, nil
	}
	aead, err := sadAEAD(sad)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, act, sadAAD(credID, hashes)), nil
}

// openActivation decrypts the activation data sealed under the SAD.
func openActivation(sad string, a *authorization) ([]byte, error) {
	if len(a.activation) == 0 {
		return nil, nil
	}
	aead, err := sadAEAD(sad)
	if err != nil {
		return nil, err
	}
	if len(a.activation) < aead.NonceSize() {
		return nil, ErrInvalidSAD
	}
	n := aead.NonceSize()
	act, err := aead.Open(nil, a.activation[:n], a.activation[n:], sadAAD(a.credentialID, a.hashes))
	if err != nil {
		return nil, ErrInvalidSAD
	}
	return act, nil
}

// newSAD stores an authorization, with the activation data sealed under
// the SAD, and returns the SAD.
func (s *Service) newSAD(ctx context.Context, p *auth.Principal, credID string, h crypto.Hash, hashes []string, client string, act []byte) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	sad := base64.RawURLEncoding.EncodeToString(b)
	joined := strings.Join(hashes, ",")
	sealed, err := sealActivation(sad, credID, joined, act)
	if err != nil {
		return "", fmt.Errorf("csc: seal activation data: %w", err)
	}
	now := s.cfg.Now()
	_, err = s.db.ExecContext(ctx, `INSERT INTO csc_sad (sad_hash, credential_id, subject, role, hash_alg, hashes, num_signatures, client, created_ms, expires_ms, activation)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		sadKey(sad), credID, p.Subject, string(p.Role), hashOID(h), joined, len(hashes), client, now.UnixMilli(), now.Add(s.cfg.SADLifetime).UnixMilli(), sealed)
	if err != nil {
		return "", fmt.Errorf("csc: store SAD: %w", err)
	}
	return sad, nil
}

// consumeSAD marks a SAD used and returns what it authorizes. A SAD is
// consumed by its first presentation, whether or not the request then
// matches it.
func (s *Service) consumeSAD(ctx context.Context, sad string) (*authorization, error) {
	if sad == "" {
		return nil, ErrInvalidSAD
	}
	now := s.cfg.Now().UnixMilli()
	var a authorization
	err := s.db.QueryRowContext(ctx, `UPDATE csc_sad SET used_ms = $1 WHERE sad_hash = $2 AND used_ms IS NULL
		RETURNING credential_id, subject, role, hash_alg, hashes, num_signatures, expires_ms, activation`, now, sadKey(sad)).
		Scan(&a.credentialID, &a.subject, &a.role, &a.hashAlg, &a.hashes, &a.numSignatures, &a.expires, &a.activation)
	if err != nil {
		if errors.Is(err, errNoRows) {
			return nil, ErrInvalidSAD
		}
		return nil, fmt.Errorf("csc: consume SAD: %w", err)
	}
	if now >= a.expires {
		return nil, ErrInvalidSAD
	}
	return &a, nil
}
