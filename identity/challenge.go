package identity

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// NonceSize is the size of a challenge nonce (ICAO RND.IFD is 8 bytes).
const NonceSize = 8

// Challenge is a single-use nonce for Active Authentication.
type Challenge struct {
	ID        string    `json:"challenge_id"`
	Nonce     []byte    `json:"-"`
	ExpiresAt time.Time `json:"expires_at"`
}

// NonceBase64 is the nonce in standard base64 with padding, as the API
// sends it.
func (c *Challenge) NonceBase64() string { return base64.StdEncoding.EncodeToString(c.Nonce) }

// NewChallenge stores and returns a fresh challenge.
func (s *Service) NewChallenge(ctx context.Context) (*Challenge, error) {
	idb := make([]byte, 16)
	nonce := make([]byte, NonceSize)
	if _, err := rand.Read(idb); err != nil {
		return nil, err
	}
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	now := s.now()
	c := &Challenge{ID: base64.RawURLEncoding.EncodeToString(idb), Nonce: nonce, ExpiresAt: now.Add(s.cfg.ChallengeTTL).UTC().Truncate(time.Millisecond)}
	if _, err := s.db.ExecContext(ctx,
		`INSERT INTO identity_challenges (id, nonce, created_ms, expires_ms) VALUES ($1, $2, $3, $4)`,
		c.ID, nonce, now.UnixMilli(), c.ExpiresAt.UnixMilli()); err != nil {
		return nil, fmt.Errorf("identity: storing challenge: %w", err)
	}
	return c, nil
}

// consumeChallenge marks the challenge used and returns its nonce. A
// challenge is burnt by the first attempt, whatever its outcome.
func (s *Service) consumeChallenge(ctx context.Context, id string) ([]byte, error) {
	if id == "" || len(id) > 64 {
		return nil, refusef(CodeChallengeUnknown, "unknown challenge")
	}
	now := s.now()
	var nonce []byte
	var expires int64
	err := s.db.QueryRowContext(ctx,
		`UPDATE identity_challenges SET used_ms = $1 WHERE id = $2 AND used_ms IS NULL RETURNING nonce, expires_ms`,
		now.UnixMilli(), id).Scan(&nonce, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		var used sql.NullInt64
		err := s.db.QueryRowContext(ctx, `SELECT used_ms FROM identity_challenges WHERE id = $1`, id).Scan(&used)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, refusef(CodeChallengeUnknown, "unknown challenge")
		}
		if err != nil {
			return nil, fmt.Errorf("identity: reading challenge: %w", err)
		}
		return nil, refusef(CodeChallengeReused, "the challenge was already used")
	}
	if err != nil {
		return nil, fmt.Errorf("identity: consuming challenge: %w", err)
	}
	if now.UnixMilli() > expires {
		return nil, refusef(CodeChallengeExpired, "the challenge expired at %s", time.UnixMilli(expires).UTC().Format(time.RFC3339))
	}
	return nonce, nil
}

// PruneChallenges deletes challenges that expired more than a day ago and
// returns how many.
func (s *Service) PruneChallenges(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM identity_challenges WHERE expires_ms < $1`, s.now().Add(-24*time.Hour).UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("identity: pruning challenges: %w", err)
	}
	return res.RowsAffected()
}
