// Package schema applies the store migrations of every component of Kyso
// in one step: `kyso migrate` runs it with the database owner's role, so
// that the service role kyso serve runs as needs no right to change the
// schema (deploy/postgresql). kyso serve still applies what is missing at
// start, which is nothing on a migrated database.
package schema

import (
	"context"
	"fmt"

	"kyso/audit"
	"kyso/auth"
	"kyso/ca"
	"kyso/dossier"
	"kyso/identity"
	"kyso/identity/federation"
	"kyso/signer/csc"
	"kyso/store"
	"kyso/tsa"
)

// Component is one component's migrations.
type Component struct {
	Name    string
	Migrate func(ctx context.Context, db *store.DB) error
}

// Components lists every component with tables, in the order kyso serve
// migrates them.
func Components() []Component {
	return []Component{
		{"audit", audit.Migrate},
		{"auth", auth.Migrate},
		{"ca", ca.Migrate}, // with the credentials' tables
		{"identity", identity.Migrate},
		{"oidc", federation.Migrate},
		{"tsa", tsa.Migrate},
		{"csc", csc.Migrate},
		{"dossier", dossier.Migrate},
	}
}

// Migration is one applied migration file.
type Migration struct {
	Component string
	Version   int64
	Name      string
}

// Migrate applies every component's pending migrations and returns those it
// applied, in order.
func Migrate(ctx context.Context, db *store.DB) ([]Migration, error) {
	before, err := Applied(ctx, db)
	if err != nil {
		return nil, err
	}
	for _, c := range Components() {
		if err := c.Migrate(ctx, db); err != nil {
			return nil, fmt.Errorf("schema: %s: %w", c.Name, err)
		}
	}
	after, err := Applied(ctx, db)
	if err != nil {
		return nil, err
	}
	seen := map[Migration]bool{}
	for _, m := range before {
		seen[m] = true
	}
	var applied []Migration
	for _, m := range after {
		if !seen[m] {
			applied = append(applied, m)
		}
	}
	return applied, nil
}

// Applied lists the migrations recorded in the database, by component and
// version; none on a database that was never migrated.
func Applied(ctx context.Context, db *store.DB) ([]Migration, error) {
	var exists bool
	if db.Dialect == store.Postgres {
		if err := db.QueryRowContext(ctx, "SELECT to_regclass('schema_migrations') IS NOT NULL").Scan(&exists); err != nil {
			return nil, fmt.Errorf("schema: look up schema_migrations: %w", err)
		}
	} else {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").Scan(&n); err != nil {
			return nil, fmt.Errorf("schema: look up schema_migrations: %w", err)
		}
		exists = n > 0
	}
	if !exists {
		return nil, nil
	}
	rows, err := db.QueryContext(ctx, "SELECT component, version, name FROM schema_migrations ORDER BY component, version")
	if err != nil {
		return nil, fmt.Errorf("schema: read schema_migrations: %w", err)
	}
	defer rows.Close()
	var out []Migration
	for rows.Next() {
		var m Migration
		if err := rows.Scan(&m.Component, &m.Version, &m.Name); err != nil {
			return nil, fmt.Errorf("schema: read schema_migrations: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
