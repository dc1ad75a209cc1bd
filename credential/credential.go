package credential

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/x509"
	"database/sql"
	"embed"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"kyso/audit"
	"kyso/problem"
	"kyso/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the package's schema migrations for store.DB.Migrate
// under the component name "credential".
func Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return migrations
	}
	return sub
}

// Kinds of credential.
const (
	KindCitizen = "citizen"
	KindSeal    = "seal"
)

// Statuses of a credential.
const (
	StatusActive    = "active"
	StatusSuspended = "suspended"
	StatusRevoked   = "revoked"
	StatusLocked    = "locked"
)

// Errors callers branch on.
var (
	ErrNotFound = problem.New(http.StatusNotFound, "credential-not-found", "no such credential")
	ErrWrongPIN = problem.New(http.StatusForbidden, "wrong-pin", "the signing PIN is wrong")
	ErrLocked   = problem.New(http.StatusForbidden, "credential-locked", "the credential is locked after too many wrong PINs")
	ErrInactive = problem.New(http.StatusForbidden, "credential-inactive", "the credential is suspended or revoked")
	ErrExists   = problem.New(http.StatusConflict, "credential-exists", "the citizen already has an active credential for this profile")
	ErrBadPIN   = problem.New(http.StatusBadRequest, "bad-pin", "the PIN must be 6 to 64 characters")
	// ErrKeyUnavailable: the credential has no key that its PIN opens
	// (destroyed, or made before keys were wrapped: enrol again).
	ErrKeyUnavailable = problem.New(http.StatusForbidden, "key-unavailable", "the credential has no usable key; enrol again")
	// ErrCertificateExpired: the credential's certificate is not valid
	// now, so its key must not sign.
	ErrCertificateExpired = problem.New(http.StatusForbidden, "certificate-expired", "the credential's certificate has expired or is not yet valid")
)

// Credential is one signing credential.
type Credential struct {
	ID         string
	Kind       string // KindCitizen or KindSeal
	Subject    string // citizen: 12-digit ID; seal: agency code
	AgencyCode string
	Profile    string
	KeyLabel   string // HSM label
	KeyType    string
	CertSerial string
	CertDER    []byte
	ChainDER   [][]byte // issuing CA(s) up to but excluding the root
	Status     string
	FailedPINs int
	CreatedAt  time.Time
	// KDF describes the stretch of the PIN into activation data
	// (Argon2id parameters and salt) and Wrapped is the private key
	// wrapped under the key derived in the HSM from that activation data
	// (citizen credentials; see Keys). Both are empty for seals, for
	// credentials made before keys were wrapped, and once the key is
	// destroyed.
	KDF     string
	Wrapped []byte
	// KeyDestroyedAt is when the key material was destroyed (revocation
	// or expiry); zero while it exists.
	KeyDestroyedAt time.Time
}

// Certificate parses CertDER.
func (c *Credential) Certificate() (*x509.Certificate, error) {
	return x509.ParseCertificate(c.CertDER)
}

// Store keeps credentials in the database.
type Store struct {
	db  *store.DB
	now func() time.Time
	// slots bounds concurrent Argon2id computations (argonMemory KiB
	// each), so that a burst of PIN checks cannot exhaust memory.
	slots chan struct{}
	// audit, when set, records a lockout in the transaction that locks.
	audit TxAuditor
}

// TxAuditor appends an audit event inside a transaction (*audit.Log
// implements it).
type TxAuditor interface {
	AppendTx(ctx context.Context, tx *sql.Tx, ev audit.Event) error
}

// WithAudit makes the store record every lockout by wrong PINs in the
// audit log, in the same transaction as the lock: a lock that cannot be
// recorded does not happen (and the exhausted attempt counter still
// refuses every PIN). It returns s.
func (s *Store) WithAudit(a TxAuditor) *Store {
	s.audit = a
	return s
}

// NewStore returns a Store on db; run Migrate first.
func NewStore(db *store.DB) *Store {
	return &Store{db: db, now: time.Now, slots: make(chan struct{}, 4)}
}

// Migrate applies the package's migrations.
func (s *Store) Migrate(ctx context.Context) error {
	return s.db.Migrate(ctx, "credential", Migrations())
}

// NewID returns a fresh credential ID: 24 lower-case base32 characters.
func NewID() (string, error) {
	var b [15]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("credential: id: %w", err)
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])), nil
}

// KeyLabel is the HSM label of a citizen's remote key.
func KeyLabel(id string) string { return "cred-" + id }

// ValidPIN reports whether a PIN is acceptable: 6 to 64 bytes.
func ValidPIN(pin string) bool { return len(pin) >= 6 && len(pin) <= 64 }

// Create stores c inside tx (nil: its own transaction). pin is "" for
// seals; citizen credentials need a valid PIN. It returns ErrExists when the
// citizen already holds a credential of the profile that is not revoked.
func (s *Store) Create(ctx context.Context, tx *sql.Tx, c Credential, pin string) error {
	var hash []byte
	if c.Kind == KindCitizen {
		h, err := s.HashPIN(ctx, pin)
		if err != nil {
			return err
		}
		hash = h
	}
	return s.CreateHashed(ctx, tx, c, hash)
}

// HashPIN checks a PIN and returns its encoded Argon2id hash, for
// CreateHashed (so that the slow hash runs outside a transaction).
func (s *Store) HashPIN(ctx context.Context, pin string) ([]byte, error) {
	if !ValidPIN(pin) {
		return nil, ErrBadPIN
	}
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.release()
	return hashPIN(pin)
}

func (s *Store) acquire(ctx context.Context) error {
	select {
	case s.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) release() { <-s.slots }

// CreateHashed is Create with the PIN hash from HashPIN (nil for seals).
func (s *Store) CreateHashed(ctx context.Context, tx *sql.Tx, c Credential, hash []byte) error {
	if c.Kind == KindCitizen && len(hash) == 0 && len(c.Wrapped) == 0 {
		return ErrBadPIN
	}
	if hash == nil {
		hash = []byte{}
	}
	if c.Status == "" {
		c.Status = StatusActive
	}
	now := s.now().UTC()
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	chain := bytes.Join(c.ChainDER, nil)
	var notAfter int64
	if cert, err := x509.ParseCertificate(c.CertDER); err == nil {
		notAfter = cert.NotAfter.UnixMilli()
	}
	q := `INSERT INTO credentials (id, kind, subject, agency_code, profile, key_label, key_type, cert_serial, cert_der, chain_der, status, failed_pins, pin_hash, created_at, updated_at, key_kdf, wrapped_key, not_after)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $13, $14, $15, $16, $17)`
	args := []any{c.ID, c.Kind, c.Subject, c.AgencyCode, c.Profile, c.KeyLabel, c.KeyType, c.CertSerial, c.CertDER, chain, c.Status, hash, c.CreatedAt.UnixMilli(), now.UnixMilli(),
		c.KDF, c.Wrapped, notAfter}
	var err error
	if tx != nil {
		_, err = tx.ExecContext(ctx, q, args...)
	} else {
		_, err = s.db.ExecContext(ctx, q, args...)
	}
	if err != nil {
		if store.IsUniqueViolation(err) {
			return ErrExists
		}
		return fmt.Errorf("credential: create: %w", err)
	}
	return nil
}

const columns = `id, kind, subject, agency_code, profile, key_label, key_type, cert_serial, cert_der, chain_der, status, failed_pins, created_at, key_kdf, wrapped_key, key_destroyed_at`

type scanner interface{ Scan(...any) error }

func scan(r scanner) (*Credential, error) {
	var c Credential
	var chain []byte
	var created, destroyed int64
	if err := r.Scan(&c.ID, &c.Kind, &c.Subject, &c.AgencyCode, &c.Profile, &c.KeyLabel, &c.KeyType, &c.CertSerial, &c.CertDER, &chain, &c.Status, &c.FailedPINs, &created,
		&c.KDF, &c.Wrapped, &destroyed); err != nil {
		return nil, err
	}
	c.CreatedAt = time.UnixMilli(created).UTC()
	if destroyed != 0 {
		c.KeyDestroyedAt = time.UnixMilli(destroyed).UTC()
	}
	if len(chain) > 0 {
		certs, err := x509.ParseCertificates(chain)
		if err != nil {
			return nil, fmt.Errorf("credential %s: stored chain: %w", c.ID, err)
		}
		for _, cert := range certs {
			c.ChainDER = append(c.ChainDER, cert.Raw)
		}
	}
	return &c, nil
}

// Get returns a credential by ID (ErrNotFound).
func (s *Store) Get(ctx context.Context, id string) (*Credential, error) {
	c, err := scan(s.db.QueryRowContext(ctx, `SELECT `+columns+` FROM credentials WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("credential: get: %w", err)
	}
	return c, nil
}

// GetBySerial returns the credential holding the certificate with the
// serial (lower-case hex), or ErrNotFound.
func (s *Store) GetBySerial(ctx context.Context, serial string) (*Credential, error) {
	c, err := scan(s.db.QueryRowContext(ctx, `SELECT `+columns+` FROM credentials WHERE cert_serial = $1`, serial))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("credential: get by serial: %w", err)
	}
	return c, nil
}

// ListBySubject returns the credentials of a subject, oldest first.
func (s *Store) ListBySubject(ctx context.Context, kind, subject string) ([]Credential, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+columns+` FROM credentials WHERE kind = $1 AND subject = $2 ORDER BY created_at, id`, kind, subject)
	if err != nil {
		return nil, fmt.Errorf("credential: list: %w", err)
	}
	defer rows.Close()
	var out []Credential
	for rows.Next() {
		c, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("credential: list: %w", err)
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

// SetStatus changes a credential's status (ErrNotFound), following the
// certificate's life:
//
//   - "suspended" (certificate on hold) applies only to an active
//     credential; a locked credential stays locked;
//   - "active" (hold released) applies only to a suspended credential and
//     keeps the failed-PIN counter: a release never unlocks (see Unlock);
//   - "revoked" and "locked" apply whatever the status.
func (s *Store) SetStatus(ctx context.Context, id, status string) error {
	return s.setStatus(ctx, s.db, id, status)
}

// SetStatusTx is SetStatus inside tx.
func (s *Store) SetStatusTx(ctx context.Context, tx *sql.Tx, id, status string) error {
	return s.setStatus(ctx, tx, id, status)
}

type execQuerier interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func (s *Store) setStatus(ctx context.Context, db execQuerier, id, status string) error {
	q := `UPDATE credentials SET status = $1, updated_at = $2 WHERE id = $3`
	switch status {
	case StatusSuspended:
		q += ` AND status = 'active'`
	case StatusActive:
		q += ` AND status = 'suspended'`
	case StatusRevoked:
		// Revocation destroys the key material with the status change.
		q = `UPDATE credentials SET status = $1, updated_at = $2, ` + destroySet + ` WHERE id = $3`
	case StatusLocked:
	default:
		return fmt.Errorf("credential: unknown status %q", status)
	}
	res, err := db.ExecContext(ctx, q, status, s.now().UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("credential: set status: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var one int
		if err := db.QueryRowContext(ctx, `SELECT 1 FROM credentials WHERE id = $1`, id).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("credential: set status: %w", err)
		}
	}
	return nil
}

// destroySet is the SET list that destroys a credential's key material:
// the wrapped key, the PIN stretch parameters and any PIN hash ($2 is the
// time).
const destroySet = `wrapped_key = NULL, key_kdf = '', pin_hash = '', key_destroyed_at = CASE WHEN key_destroyed_at = 0 THEN $2 ELSE key_destroyed_at END`

// Unlock reactivates a credential locked by wrong PINs and clears its
// counter (an officer's decision after checking the citizen's identity).
// ErrNotFound, or ErrInactive when the credential is not locked.
func (s *Store) Unlock(ctx context.Context, id string) error {
	return s.unlock(ctx, s.db, id)
}

// UnlockTx is Unlock inside tx.
func (s *Store) UnlockTx(ctx context.Context, tx *sql.Tx, id string) error {
	return s.unlock(ctx, tx, id)
}

func (s *Store) unlock(ctx context.Context, db execQuerier, id string) error {
	res, err := db.ExecContext(ctx, `UPDATE credentials SET status = 'active', failed_pins = 0, updated_at = $1 WHERE id = $2 AND status = 'locked'`,
		s.now().UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("credential: unlock: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var one int
		if err := db.QueryRowContext(ctx, `SELECT 1 FROM credentials WHERE id = $1`, id).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("credential: unlock: %w", err)
		}
		return ErrInactive
	}
	return nil
}

// CheckPIN verifies the signing PIN of a citizen credential that keeps an
// Argon2id hash of it. Credentials with a wrapped key keep no hash (it
// would let whoever reads the database search the PIN offline): Keys.Activate
// checks their PIN by unwrapping the key in the HSM. Errors: ErrNotFound,
// ErrWrongPIN, ErrLocked, ErrInactive.
func (s *Store) CheckPIN(ctx context.Context, id, pin string, maxFailures int) error {
	return s.attempt(ctx, id, maxFailures, func(r attemptRow) (bool, error) {
		if len(r.pinHash) == 0 {
			return false, ErrKeyUnavailable
		}
		if err := s.acquire(ctx); err != nil {
			return false, err
		}
		defer s.release()
		return verifyPIN(r.pinHash, pin)
	})
}

// attemptRow is what a PIN check reads from the credential's row.
type attemptRow struct {
	pinHash []byte
	kdf     string
	wrapped []byte
}

// errNotCounted wraps a check error that says nothing about the PIN (an
// HSM failure, say): the attempt it used is given back.
type errNotCounted struct{ err error }

func (e errNotCounted) Error() string { return e.err.Error() }
func (e errNotCounted) Unwrap() error { return e.err }

// attempt runs one counted PIN check. Every attempt is counted before the
// PIN is checked, in one atomic statement that refuses once maxFailures
// attempts are outstanding, so concurrent guesses cannot outrun the limit;
// a wrong PIN (check returns false) that reaches the limit locks the
// credential; a right PIN clears the counter, and only while the credential
// is still active. An error from check wrapped in errNotCounted gives the
// attempt back.
func (s *Store) attempt(ctx context.Context, id string, maxFailures int, check func(attemptRow) (bool, error)) error {
	if maxFailures < 1 {
		maxFailures = 1
	}
	now := s.now().UnixMilli()
	var r attemptRow
	var attempt int
	err := s.db.QueryRowContext(ctx, `UPDATE credentials SET failed_pins = failed_pins + 1, updated_at = $3
		WHERE id = $1 AND status = 'active' AND failed_pins < $2 RETURNING pin_hash, key_kdf, wrapped_key, failed_pins`, id, maxFailures, now).
		Scan(&r.pinHash, &r.kdf, &r.wrapped, &attempt)
	if errors.Is(err, sql.ErrNoRows) {
		c, gerr := s.Get(ctx, id)
		switch {
		case gerr != nil:
			return gerr
		case c.Status == StatusActive:
			// Attempts in flight have used up the allowance.
			return ErrLocked
		case c.Status == StatusLocked:
			return ErrLocked
		default:
			return ErrInactive
		}
	}
	if err != nil {
		return fmt.Errorf("credential: check pin: %w", err)
	}
	ok, err := check(r)
	if err != nil {
		var nc errNotCounted
		if errors.As(err, &nc) || errors.Is(err, ErrKeyUnavailable) {
			if _, uerr := s.db.ExecContext(ctx, `UPDATE credentials SET failed_pins = failed_pins - 1 WHERE id = $1 AND status = 'active' AND failed_pins > 0`, id); uerr != nil {
				return fmt.Errorf("credential: give back pin attempt: %w", uerr)
			}
			if nc.err != nil {
				return nc.err
			}
			return err
		}
		return fmt.Errorf("credential %s: %w", id, err)
	}
	if ok {
		res, err := s.db.ExecContext(ctx, `UPDATE credentials SET failed_pins = 0 WHERE id = $1 AND status = 'active'`, id)
		if err != nil {
			return fmt.Errorf("credential: reset pin counter: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrLocked // locked by concurrent wrong guesses meanwhile
		}
		return nil
	}
	if attempt < maxFailures {
		return ErrWrongPIN.With("remaining_attempts", maxFailures-attempt)
	}
	// This wrong PIN was the last allowed attempt: lock, and record the
	// lockout with it.
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE credentials SET status = 'locked', updated_at = $2 WHERE id = $1 AND status = 'active'`, id, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 || s.audit == nil {
			return nil
		}
		return s.audit.AppendTx(ctx, tx, audit.Event{Actor: "kyso", Role: "system", Action: "credential.lock", Object: "credential:" + id,
			Details: map[string]any{"reason": "wrong-pin", "failed_pins": attempt}})
	})
	if err != nil {
		return fmt.Errorf("credential: lock: %w", err)
	}
	return ErrLocked
}

// Argon2id parameters (RFC 9106 section 4, memory-constrained choice).
const (
	argonTime    = 2
	argonMemory  = 32 * 1024
	argonThreads = 2
	argonKeyLen  = 32
)

func hashPIN(pin string) ([]byte, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("credential: salt: %w", err)
	}
	key := argon2.IDKey([]byte(pin), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return []byte(fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads, enc.EncodeToString(salt), enc.EncodeToString(key))), nil
}

func verifyPIN(encoded []byte, pin string) (bool, error) {
	parts := strings.Split(string(encoded), "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("stored PIN hash is not argon2id")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errors.New("stored PIN hash has an unknown argon2 version")
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<22 || t > 64 {
		return false, errors.New("stored PIN hash has bad parameters")
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false, errors.New("stored PIN hash has a bad salt")
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errors.New("stored PIN hash has a bad key")
	}
	got := argon2.IDKey([]byte(pin), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// IsCitizenKeyLabel reports whether label names a citizen's key (KeyLabel),
// which only the signing service may use, with the citizen's PIN.
func IsCitizenKeyLabel(label string) bool { return strings.HasPrefix(label, "cred-") }
