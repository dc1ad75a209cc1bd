package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"time"

	"kyso/problem"
	"kyso/store"
)

// TokenPrefix starts every API token, so that leaked tokens are easy to scan
// for.
const TokenPrefix = "kyso_"

// Principals stores API principals (agency, officer and admin accounts).
type Principals struct {
	db  *store.DB
	now func() time.Time
}

// PrincipalRecord is a stored principal, without its secret.
type PrincipalRecord struct {
	ID         string
	Role       Role
	Name       string
	AgencyCode string
	CertSHA256 string
	CreatedAt  time.Time
	Disabled   bool
}

// Migrate applies the principal tables to db.
func Migrate(ctx context.Context, db *store.DB) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	return db.Migrate(ctx, "auth", sub)
}

// NewPrincipals returns the principal store, applying its migrations.
func NewPrincipals(ctx context.Context, db *store.DB) (*Principals, error) {
	if err := Migrate(ctx, db); err != nil {
		return nil, err
	}
	return &Principals{db: db, now: time.Now}, nil
}

var agencyCode = regexp.MustCompile(`^[A-Z0-9][A-Z0-9\-\.]{1,31}$`)

// AddRequest describes a new principal.
type AddRequest struct {
	Role       Role
	Name       string
	AgencyCode string
	// ClientCert, when set, lets the principal authenticate with this
	// TLS client certificate as well as with the token.
	ClientCert *x509.Certificate
}

// Add creates a principal and returns its record and its API token. The
// token is shown only here: only its hash is stored.
func (p *Principals) Add(ctx context.Context, req AddRequest) (*PrincipalRecord, string, error) {
	switch req.Role {
	case RoleAgency, RoleOfficer, RoleAdmin:
	default:
		return nil, "", problem.Newf(http.StatusBadRequest, "bad-role", "role %q: want agency, officer or admin", req.Role)
	}
	if req.Role == RoleAgency && !agencyCode.MatchString(req.AgencyCode) {
		return nil, "", problem.Newf(http.StatusBadRequest, "bad-agency", "an agency principal needs an agency code of 2-32 upper-case letters, digits, '-' or '.', got %q", req.AgencyCode)
	}
	if req.AgencyCode != "" && !agencyCode.MatchString(req.AgencyCode) {
		return nil, "", problem.Newf(http.StatusBadRequest, "bad-agency", "agency code %q: want 2-32 upper-case letters, digits, '-' or '.'", req.AgencyCode)
	}
	if req.Name == "" {
		req.Name = string(req.Role)
	}
	idb := make([]byte, 8)
	secret := make([]byte, 32)
	if _, err := rand.Read(idb); err != nil {
		return nil, "", err
	}
	if _, err := rand.Read(secret); err != nil {
		return nil, "", err
	}
	id := hex.EncodeToString(idb)
	token := TokenPrefix + id + "_" + base64.RawURLEncoding.EncodeToString(secret)
	sum := sha256.Sum256(secret)
	rec := &PrincipalRecord{ID: id, Role: req.Role, Name: req.Name, AgencyCode: req.AgencyCode, CreatedAt: p.now().UTC()}
	if req.ClientCert != nil {
		fp := sha256.Sum256(req.ClientCert.Raw)
		rec.CertSHA256 = hex.EncodeToString(fp[:])
	}
	_, err := p.db.ExecContext(ctx, `INSERT INTO principals (id, role, name, agency_code, token_hash, cert_sha256, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, rec.ID, string(rec.Role), rec.Name, rec.AgencyCode, sum[:], rec.CertSHA256, rec.CreatedAt.UnixMilli())
	if err != nil {
		return nil, "", fmt.Errorf("auth: store principal: %w", err)
	}
	return rec, token, nil
}

// List returns every principal, oldest first.
func (p *Principals) List(ctx context.Context) ([]PrincipalRecord, error) {
	rows, err := p.db.QueryContext(ctx, `SELECT id, role, name, agency_code, cert_sha256, created_at, disabled_at FROM principals ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("auth: list principals: %w", err)
	}
	defer rows.Close()
	var out []PrincipalRecord
	for rows.Next() {
		var r PrincipalRecord
		var role string
		var created, disabled int64
		if err := rows.Scan(&r.ID, &role, &r.Name, &r.AgencyCode, &r.CertSHA256, &created, &disabled); err != nil {
			return nil, err
		}
		r.Role, r.CreatedAt, r.Disabled = Role(role), time.UnixMilli(created).UTC(), disabled != 0
		out = append(out, r)
	}
	return out, rows.Err()
}

// Disable stops a principal from authenticating.
func (p *Principals) Disable(ctx context.Context, id string) error {
	res, err := p.db.ExecContext(ctx, `UPDATE principals SET disabled_at = $1 WHERE id = $2 AND disabled_at = 0`, p.now().UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("auth: disable principal: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return problem.Newf(http.StatusNotFound, "principal-not-found", "no active principal %q", id)
	}
	return nil
}

// ByToken authenticates an API token.
func (p *Principals) ByToken(ctx context.Context, token string) (*Principal, error) {
	rest, ok := strings.CutPrefix(token, TokenPrefix)
	if !ok {
		return nil, ErrUnauthenticated
	}
	id, secretB64, ok := strings.Cut(rest, "_")
	if !ok || len(id) != 16 {
		return nil, ErrUnauthenticated
	}
	secret, err := base64.RawURLEncoding.DecodeString(secretB64)
	if err != nil {
		return nil, ErrUnauthenticated
	}
	var (
		role, name, agency string
		hash               []byte
		disabled           int64
	)
	err = p.db.QueryRowContext(ctx, `SELECT role, name, agency_code, token_hash, disabled_at FROM principals WHERE id = $1`, id).
		Scan(&role, &name, &agency, &hash, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, fmt.Errorf("auth: look up principal: %w", err)
	}
	sum := sha256.Sum256(secret)
	if subtle.ConstantTimeCompare(sum[:], hash) != 1 || disabled != 0 {
		return nil, ErrUnauthenticated
	}
	return &Principal{Role: Role(role), Subject: id, Name: name, AgencyCode: agency}, nil
}

// ByClientCert authenticates a verified TLS client certificate bound to a
// principal.
func (p *Principals) ByClientCert(ctx context.Context, cert *x509.Certificate) (*Principal, error) {
	fp := sha256.Sum256(cert.Raw)
	var id, role, name, agency string
	err := p.db.QueryRowContext(ctx, `SELECT id, role, name, agency_code FROM principals WHERE cert_sha256 = $1 AND disabled_at = 0`, hex.EncodeToString(fp[:])).
		Scan(&id, &role, &name, &agency)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, fmt.Errorf("auth: look up client certificate: %w", err)
	}
	return &Principal{Role: Role(role), Subject: id, Name: name, AgencyCode: agency}, nil
}
