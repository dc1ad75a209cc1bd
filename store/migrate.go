package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

var migrationName = regexp.MustCompile(`^(\d+)_[A-Za-z0-9_\-]+\.sql$`)

// Migrate applies, in order and once each, the files NNN_name.sql found at
// the root of fsys, recording them under component. Migration files use a
// portable dialect: the types TEXT, BIGINT, INTEGER and BLOB (BYTEA on
// PostgreSQL), AUTOID for an auto-increment primary key column whose
// values are never reused, and QUEUEID for the key of a queue table, which
// rows leave as fast as they come: increasing while rows are in the table,
// but on SQLite a plain INTEGER PRIMARY KEY (the rowid), which may reuse
// the values of deleted rows and so writes no sqlite_sequence row on each
// insert (BIGSERIAL PRIMARY KEY on PostgreSQL, like AUTOID).
// Statements are separated by semicolons at line ends.
func (db *DB) Migrate(ctx context.Context, component string, fsys fs.FS) error {
	// The table is created only when missing: a service role without the
	// right to change the schema (deploy/postgresql/roles.sql) starts on a
	// database whose migrations the owner role has applied.
	exists := false
	if db.Dialect == Postgres {
		var name sql.NullString
		if err := db.QueryRowContext(ctx, "SELECT to_regclass('schema_migrations')::text").Scan(&name); err != nil {
			return fmt.Errorf("store: look up schema_migrations: %w", err)
		}
		exists = name.Valid
	}
	if exists {
		// Nothing to create.
	} else if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		component TEXT NOT NULL,
		version BIGINT NOT NULL,
		name TEXT NOT NULL,
		applied_at BIGINT NOT NULL,
		PRIMARY KEY (component, version))`); err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return fmt.Errorf("store: read migrations of %s: %w", component, err)
	}
	type mig struct {
		version int64
		name    string
	}
	var migs []mig
	seen := map[int64]string{}
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if e.IsDir() || m == nil {
			continue
		}
		v, _ := strconv.ParseInt(m[1], 10, 64)
		if prev, dup := seen[v]; dup {
			return fmt.Errorf("store: %s migrations %s and %s share version %d", component, prev, e.Name(), v)
		}
		seen[v] = e.Name()
		migs = append(migs, mig{v, e.Name()})
	}
	sort.Slice(migs, func(i, j int) bool { return migs[i].version < migs[j].version })
	for _, m := range migs {
		body, err := fs.ReadFile(fsys, m.name)
		if err != nil {
			return fmt.Errorf("store: read %s/%s: %w", component, m.name, err)
		}
		err = db.InTx(ctx, func(tx *sql.Tx) error {
			if db.Dialect == Postgres {
				// Serialise concurrent migrators (replicas starting together).
				if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7270411)"); err != nil {
					return err
				}
			}
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE component = $1 AND version = $2", component, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			for _, stmt := range splitStatements(db.translate(string(body))) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("%s: %w", firstLine(stmt), err)
				}
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (component, version, name, applied_at) VALUES ($1, $2, $3, $4)",
				component, m.version, m.name, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migrate %s/%s: %w", component, m.name, err)
		}
	}
	return nil
}

var (
	blobType = regexp.MustCompile(`\bBLOB\b`)
	autoID   = regexp.MustCompile(`\bAUTOID\b`)
	queueID  = regexp.MustCompile(`\bQUEUEID\b`)
)

// translate rewrites the portable migration dialect for this database.
func (db *DB) translate(s string) string {
	if db.Dialect == Postgres {
		s = blobType.ReplaceAllString(s, "BYTEA")
		s = queueID.ReplaceAllString(s, "BIGSERIAL PRIMARY KEY")
		return autoID.ReplaceAllString(s, "BIGSERIAL PRIMARY KEY")
	}
	s = queueID.ReplaceAllString(s, "INTEGER PRIMARY KEY")
	return autoID.ReplaceAllString(s, "INTEGER PRIMARY KEY AUTOINCREMENT")
}

func splitStatements(s string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(s, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			if st := strings.TrimSpace(cur.String()); st != ";" {
				out = append(out, st)
			}
			cur.Reset()
		}
	}
	if st := strings.TrimSpace(cur.String()); st != "" {
		out = append(out, st)
	}
	return out
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
