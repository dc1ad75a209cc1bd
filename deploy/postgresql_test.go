package deploy

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kyso/audit"
	"kyso/auth"
	"kyso/schema"
	"kyso/store"
)

// deploy/postgresql/roles.sql: the owner applies the migrations (kyso
// migrate); the service role starts on that database (every component's
// migrations are no-ops for it), writes
// audit entries, and can neither UPDATE nor DELETE an entry, a tree hash or
// a checkpoint.
func TestPostgreSQLRoles(t *testing.T) {
	admin := os.Getenv("KYSO_TEST_POSTGRES_DSN")
	if admin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("KYSO_TEST_POSTGRES_DSN is required (make test starts a PostgreSQL)")
		}
		t.Skip("KYSO_TEST_POSTGRES_DSN not set (make test starts a PostgreSQL)")
	}
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql not installed")
	}
	ctx := context.Background()
	adm, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	dbName := fmt.Sprintf("kyso_roles_%d", os.Getpid())
	drop := func() {
		rows, err := adm.QueryContext(ctx, "SELECT datname FROM pg_database WHERE datname LIKE 'kyso_roles_%'")
		if err == nil {
			var names []string
			for rows.Next() {
				var n string
				rows.Scan(&n)
				names = append(names, n)
			}
			rows.Close()
			for _, n := range names {
				adm.ExecContext(ctx, "DROP DATABASE IF EXISTS "+n+" WITH (FORCE)")
			}
		}
		adm.ExecContext(ctx, "DROP ROLE IF EXISTS kyso_app")
		adm.ExecContext(ctx, "DROP ROLE IF EXISTS kyso_owner")
	}
	drop()
	t.Cleanup(func() {
		drop()
		adm.Close()
	})
	for _, q := range []string{
		"CREATE ROLE kyso_owner LOGIN", "CREATE DATABASE " + dbName + " OWNER kyso_owner"} {
		if _, err := adm.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	dsnAs := func(user string) string {
		u, err := url.Parse(admin)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword(user, "pw-"+user)
		u.Path = "/" + dbName
		return u.String()
	}
	superDB := dsnAs("postgres")
	if u, _ := url.Parse(admin); u != nil && u.User != nil {
		su, _ := url.Parse(superDB)
		su.User = u.User
		superDB = su.String()
	}
	roles := func() {
		t.Helper()
		out, err := exec.Command(psql, "-v", "ON_ERROR_STOP=1", "-v", "app_password='pw-kyso_app'", "-v", "owner_password='pw-kyso_owner'",
			"-q", "-d", superDB, "-f", filepath.Join("postgresql", "roles.sql")).CombinedOutput()
		if err != nil {
			t.Fatalf("roles.sql: %v\n%s", err, out)
		}
	}
	roles()

	// The owner migrates every component (kyso migrate: an install or
	// upgrade), then roles.sql runs again.
	owner, err := store.Open(ctx, dsnAs("kyso_owner"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if applied, err := schema.Migrate(ctx, owner); err != nil || len(applied) == 0 {
		t.Fatalf("owner migrates: %d applied, %v", len(applied), err)
	}
	owner.Close()
	roles()

	app, err := store.Open(ctx, dsnAs("kyso_app"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	// Every component's start-up migration is a no-op for the service role.
	if applied, err := schema.Migrate(ctx, app); err != nil || len(applied) != 0 {
		t.Fatalf("the service role cannot start on a migrated database: %d applied, %v", len(applied), err)
	}
	if _, err := audit.New(ctx, app, nil); err != nil {
		t.Fatalf("the service role cannot start on a migrated database: %v", err)
	}
	if _, err := auth.NewPrincipals(ctx, app); err != nil {
		t.Fatalf("the service role cannot start on a migrated database: %v", err)
	}
	// The service writes pending entries in state changes and the
	// sequencer removes them once integrated.
	alog, err := audit.New(ctx, app, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := alog.Append(ctx, audit.Event{Actor: "a", Role: "r", Action: "x", Object: "o"}); err != nil {
		t.Fatalf("the service role cannot write a pending entry: %v", err)
	}
	if _, err := app.ExecContext(ctx, "DELETE FROM audit_pending"); err != nil {
		t.Fatalf("the service role cannot clear pending entries: %v", err)
	}
	if _, err := app.ExecContext(ctx, "CREATE TABLE intruder (x INTEGER)"); err == nil {
		t.Error("the service role changes the schema")
	}
	// Entries are written (as the sequencer does) but never rewritten.
	if _, err := app.ExecContext(ctx, "INSERT INTO audit_log (idx, id, at, actor, role, action, object, data) VALUES (0, 'e0', 1, 'a', 'r', 'x', 'o', $1)", []byte("leaf")); err != nil {
		t.Fatalf("the service role cannot append an entry: %v", err)
	}
	if _, err := app.ExecContext(ctx, "INSERT INTO audit_hashes (n, hash) VALUES (0, $1)", []byte("h")); err != nil {
		t.Fatalf("the service role cannot store a hash: %v", err)
	}
	for _, q := range []string{
		"UPDATE audit_log SET actor = 'someone else' WHERE idx = 0",
		"DELETE FROM audit_log WHERE idx = 0",
		"TRUNCATE audit_log",
		"UPDATE audit_hashes SET hash = 'x' WHERE n = 0",
		"DELETE FROM audit_hashes",
		"DELETE FROM audit_checkpoints",
		"UPDATE audit_checkpoints SET note = ''",
		"DELETE FROM schema_migrations",
	} {
		if _, err := app.ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("%s: %v, want permission denied", q, err)
		}
	}
	var actor string
	if err := app.QueryRowContext(ctx, "SELECT actor FROM audit_log WHERE idx = 0").Scan(&actor); err != nil || actor != "a" {
		t.Fatalf("entry after the refused changes: %q %v", actor, err)
	}
}
