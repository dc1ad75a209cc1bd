package credential

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"kyso/hsm"
)

// SecretLabel is the label of the derivation secret on the citizen-key
// token, from which the key-encryption key of every citizen's key is
// derived with that citizen's activation data.
const SecretLabel = "kyso-citizen-kek-1"

// MetricLabel is the metrics' "key" label of citizens' keys, counted
// together.
const MetricLabel = "citizen-keys"

// Keys keeps citizens' private keys under their sole control. A key is
// generated in the HSM and kept only wrapped (AES key wrap with padding)
// under a key-encryption key that the HSM derives from its derivation
// secret (SecretLabel, on a token of its own) and the citizen's activation
// data: an Argon2id stretch of the signing PIN with a per-credential salt.
// The wrapped key, the salt and the Argon2id parameters are in the
// database; the PIN and the stretch are not stored anywhere. Each signature
// unwraps the key into a session object that is destroyed after it, so the
// token never holds a citizen's private key at rest. Neither the database,
// nor the token and its PIN, nor both together, sign without the PIN.
type Keys struct {
	store *Store
	hsm   *hsm.HSM
	typ   hsm.KeyType
	now   func() time.Time
}

// NewKeys returns the keys of the credentials in store, wrapped under the
// derivation secret of the citizen-key token h. typ is the type of new
// keys (zero: ECDSA P-256).
func NewKeys(store *Store, h *hsm.HSM, typ hsm.KeyType) *Keys {
	if typ == "" {
		typ = hsm.ECP256
	}
	return &Keys{store: store, hsm: h, typ: typ, now: store.now}
}

// EnsureSecret generates the derivation secret on the citizen-key token
// unless it is there; it reports whether it generated it. Run it once, at
// the key ceremony: a new secret makes every existing wrapped key useless.
func (k *Keys) EnsureSecret(ctx context.Context) (bool, error) {
	ok, err := k.hsm.HasSecret(ctx, SecretLabel)
	if err != nil {
		return false, err
	}
	if ok {
		return false, nil
	}
	if err := k.hsm.GenerateSecret(ctx, SecretLabel); err != nil {
		return false, err
	}
	return true, nil
}

// NewKey is a key made for a PIN by Generate.
type NewKey struct {
	// KDF and Wrapped go into the credential (Credential.KDF, .Wrapped).
	KDF     string
	Wrapped []byte
	// Signer signs with the key (to prove possession in a CSR, say);
	// Forget it when done.
	Signer *hsm.WrappedKey
}

// Generate makes a new key wrapped for pin.
func (k *Keys) Generate(ctx context.Context, pin string) (*NewKey, error) {
	if !ValidPIN(pin) {
		return nil, ErrBadPIN
	}
	kdf, err := newKDF()
	if err != nil {
		return nil, err
	}
	act, err := k.stretch(ctx, kdf, pin)
	if err != nil {
		return nil, err
	}
	defer clear(act)
	blob, pub, err := k.hsm.GenerateWrappedKey(ctx, SecretLabel, act, k.typ)
	if err != nil {
		return nil, fmt.Errorf("credential: generate key: %w", err)
	}
	w, err := k.hsm.WrappedKey(SecretLabel, act, blob, pub, MetricLabel)
	if err != nil {
		return nil, err
	}
	return &NewKey{KDF: kdf, Wrapped: blob, Signer: w}, nil
}

// KeyType returns the type of new keys.
func (k *Keys) KeyType() hsm.KeyType { return k.typ }

// usable checks that c is a citizen credential whose key exists and whose
// certificate is valid now.
func (k *Keys) usable(c *Credential) (*x509.Certificate, error) {
	if c.Kind != KindCitizen {
		return nil, fmt.Errorf("credential %s: not a citizen credential", c.ID)
	}
	cert, err := c.Certificate()
	if err != nil {
		return nil, fmt.Errorf("credential %s: certificate: %w", c.ID, err)
	}
	now := k.now()
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return nil, ErrCertificateExpired
	}
	if len(c.Wrapped) == 0 || c.KDF == "" || !c.KeyDestroyedAt.IsZero() {
		return nil, ErrKeyUnavailable
	}
	return cert, nil
}

// Activate checks a citizen's signing PIN by opening the credential's key
// in the HSM and returns the activation data that opens it (for Open). The
// attempt is counted first, as CheckPIN counts it: wrong PINs lock the
// credential at maxFailures. Errors: ErrWrongPIN, ErrLocked, ErrInactive,
// ErrKeyUnavailable, ErrCertificateExpired, ErrBadPIN.
func (k *Keys) Activate(ctx context.Context, c *Credential, pin string, maxFailures int) ([]byte, error) {
	cert, err := k.usable(c)
	if err != nil {
		return nil, err
	}
	if !ValidPIN(pin) {
		return nil, ErrWrongPIN
	}
	var act []byte
	err = k.store.attempt(ctx, c.ID, maxFailures, func(r attemptRow) (bool, error) {
		if len(r.wrapped) == 0 || r.kdf == "" {
			return false, ErrKeyUnavailable
		}
		a, err := k.stretch(ctx, r.kdf, pin)
		if err != nil {
			return false, errNotCounted{err}
		}
		w, err := k.hsm.WrappedKey(SecretLabel, a, r.wrapped, cert.PublicKey, MetricLabel)
		if err != nil {
			return false, errNotCounted{err}
		}
		defer w.Forget()
		switch err := w.Check(ctx); {
		case errors.Is(err, hsm.ErrActivation):
			clear(a)
			return false, nil
		case err != nil:
			return false, errNotCounted{err}
		}
		act = a
		return true, nil
	})
	if err != nil {
		clear(act)
		return nil, err
	}
	return act, nil
}

// Open returns the signer of a citizen credential's key for activation data
// that Activate returned. It refuses a credential whose key was destroyed
// or whose certificate is not valid now.
func (k *Keys) Open(ctx context.Context, c *Credential, activation []byte) (*hsm.WrappedKey, error) {
	cert, err := k.usable(c)
	if err != nil {
		return nil, err
	}
	if c.Status != StatusActive {
		if c.Status == StatusLocked {
			return nil, ErrLocked
		}
		return nil, ErrInactive
	}
	return k.hsm.WrappedKey(SecretLabel, activation, c.Wrapped, cert.PublicKey, MetricLabel)
}

// Argon2id parameters of new keys' activation data (RFC 9106 section 4,
// memory-constrained choice); stored with each key, so they may be raised
// for new keys.
const (
	kdfTime    = 3
	kdfMemory  = 64 * 1024
	kdfThreads = 2
)

// newKDF returns the encoded parameters and a fresh salt:
// "$argon2id$v=19$m=65536,t=3,p=2$<salt>".
func newKDF() (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("credential: salt: %w", err)
	}
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s", argon2.Version, kdfMemory, kdfTime, kdfThreads,
		base64.RawStdEncoding.EncodeToString(salt)), nil
}

// stretch runs Argon2id over the PIN with the encoded parameters (bounded
// in concurrency like PIN hashing) and returns hsm.ActivationLen bytes.
func (k *Keys) stretch(ctx context.Context, kdf, pin string) ([]byte, error) {
	parts := strings.Split(kdf, "$")
	if len(parts) != 5 || parts[1] != "argon2id" {
		return nil, errors.New("credential: stored key KDF is not argon2id")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return nil, errors.New("credential: stored key KDF has an unknown argon2 version")
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m < 8*1024 || t == 0 || p == 0 || m > 1<<22 || t > 64 {
		return nil, errors.New("credential: stored key KDF has bad parameters")
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < 16 {
		return nil, errors.New("credential: stored key KDF has a bad salt")
	}
	if err := k.store.acquire(ctx); err != nil {
		return nil, err
	}
	defer k.store.release()
	return argon2.IDKey([]byte(pin), salt, t, m, p, hsm.ActivationLen), nil
}

// DestroyKeyTx destroys the key material of a credential inside tx: the
// wrapped key, its KDF parameters and any PIN hash. It reports whether
// there was any to destroy (false when already destroyed). The credential's
// status is left as it is.
func (s *Store) DestroyKeyTx(ctx context.Context, tx *sql.Tx, id string) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE credentials SET updated_at = $2, `+destroySet+` WHERE id = $1 AND key_destroyed_at = 0`,
		id, s.now().UnixMilli())
	if err != nil {
		return false, fmt.Errorf("credential: destroy key: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// ExpiredKeys returns up to limit citizen credentials whose certificate
// expired before now and whose key material still exists.
func (s *Store) ExpiredKeys(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM credentials WHERE kind = 'citizen' AND key_destroyed_at = 0 AND not_after > 0 AND not_after < $1
		ORDER BY not_after, id LIMIT $2`, now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("credential: expired keys: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("credential: expired keys: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// OpenSigner is Open returning a crypto.Signer.
func (k *Keys) OpenSigner(ctx context.Context, c *Credential, activation []byte) (crypto.Signer, error) {
	w, err := k.Open(ctx, c, activation)
	if err != nil {
		return nil, err
	}
	return w, nil
}
