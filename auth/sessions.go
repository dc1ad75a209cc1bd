package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// SessionTTL is how long a browser session lasts after sign-in.
const SessionTTL = 8 * time.Hour

// StartSession opens a browser session for an authenticated API principal
// (agency, officer or admin) and returns the secret to put in the
// session cookie. Only the secret's SHA-256 is stored.
func (p *Principals) StartSession(ctx context.Context, pr *Principal, ttl time.Duration) (string, time.Time, error) {
	if pr == nil || pr.Role == RoleCitizen || pr.Subject == "" {
		return "", time.Time{}, ErrForbidden
	}
	if ttl <= 0 {
		ttl = SessionTTL
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", time.Time{}, fmt.Errorf("auth: session secret: %w", err)
	}
	secret := base64.RawURLEncoding.EncodeToString(raw[:])
	now := p.now()
	exp := now.Add(ttl)
	if _, err := p.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, now.UnixMilli()); err != nil {
		return "", time.Time{}, fmt.Errorf("auth: prune sessions: %w", err)
	}
	if _, err := p.db.ExecContext(ctx, `INSERT INTO sessions (secret_sha256, principal_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		sessionKey(secret), pr.Subject, now.UnixMilli(), exp.UnixMilli()); err != nil {
		return "", time.Time{}, fmt.Errorf("auth: store session: %w", err)
	}
	return secret, exp, nil
}

// BySession authenticates a session cookie's secret: the session must be
// unexpired and its principal still enabled.
func (p *Principals) BySession(ctx context.Context, secret string) (*Principal, error) {
	if len(secret) != 43 {
		return nil, ErrUnauthenticated
	}
	var id, role, name, agency string
	var disabled int64
	err := p.db.QueryRowContext(ctx, `SELECT p.id, p.role, p.name, p.agency_code, p.disabled_at FROM sessions s
		JOIN principals p ON p.id = s.principal_id WHERE s.secret_sha256 = $1 AND s.expires_at > $2`,
		sessionKey(secret), p.now().UnixMilli()).Scan(&id, &role, &name, &agency, &disabled)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && disabled != 0) {
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, fmt.Errorf("auth: look up session: %w", err)
	}
	return &Principal{Role: Role(role), Subject: id, Name: name, AgencyCode: agency}, nil
}

// EndSession forgets a session (sign-out). An unknown secret is not an
// error.
func (p *Principals) EndSession(ctx context.Context, secret string) error {
	if _, err := p.db.ExecContext(ctx, `DELETE FROM sessions WHERE secret_sha256 = $1`, sessionKey(secret)); err != nil {
		return fmt.Errorf("auth: end session: %w", err)
	}
	return nil
}

func sessionKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
