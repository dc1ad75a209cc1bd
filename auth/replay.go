package auth

import (
	"context"
	"fmt"
	"time"

	"kyso/store"
)

// StoreReplayGuard remembers used assertions in the store until they expire.
type StoreReplayGuard struct {
	db  *store.DB
	now func() time.Time
}

// NewReplayGuard returns a store-backed ReplayGuard. The auth migrations must
// have been applied (NewPrincipals does it).
func NewReplayGuard(db *store.DB) *StoreReplayGuard {
	return &StoreReplayGuard{db: db, now: time.Now}
}

// Consume records (jti, purpose) and fails with ErrReplayed when it was
// recorded before.
func (g *StoreReplayGuard) Consume(ctx context.Context, jti, purpose string, exp time.Time) error {
	if jti == "" {
		return ErrUnauthenticated
	}
	res, err := g.db.ExecContext(ctx, `INSERT INTO used_assertions (jti, purpose, expires_at, used_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (jti, purpose) DO NOTHING`, jti, purpose, exp.UnixMilli(), g.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("auth: record assertion use: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("auth: record assertion use: %w", err)
	} else if n == 0 {
		return ErrReplayed
	}
	return nil
}

// Prune forgets uses of assertions that have expired (they can no longer be
// presented anyway).
func (g *StoreReplayGuard) Prune(ctx context.Context) (int64, error) {
	res, err := g.db.ExecContext(ctx, `DELETE FROM used_assertions WHERE expires_at < $1`, g.now().Add(-time.Minute).UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("auth: prune used assertions: %w", err)
	}
	return res.RowsAffected()
}
