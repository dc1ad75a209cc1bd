// Package storetest runs store-backed tests against every supported engine:
// a fresh SQLite file always, and a fresh PostgreSQL database when
// KYSO_TEST_POSTGRES_DSN names a server (make test starts a throwaway one).
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver

	"kyso/store"
)

// EnvPostgres is the variable holding an administrative PostgreSQL DSN.
const EnvPostgres = "KYSO_TEST_POSTGRES_DSN"

// Each runs fn as a subtest named "sqlite" and, when PostgreSQL is
// configured, as a subtest named "postgres", each on an empty database.
// With CI set and no PostgreSQL configured, the postgres subtest fails.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		fn(t, SQLite(t))
	})
	t.Run("postgres", func(t *testing.T) {
		db := Postgres(t)
		fn(t, db)
	})
}

// SQLite opens a fresh SQLite database in a temporary directory.
func SQLite(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "kyso.db"), nil)
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Postgres creates a fresh database on the configured server and opens it.
// It skips the test when no server is configured (and fails under CI).
func Postgres(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), PostgresDSN(t), nil)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// PostgresDSN creates a fresh database on the configured server and
// returns its DSN, for tests that open it from several processes. The
// database is dropped when the test ends. It skips the test when no server
// is configured (and fails under CI).
func PostgresDSN(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvPostgres)
	if admin == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set: make test starts PostgreSQL for the store tests", EnvPostgres)
		}
		t.Skipf("%s not set; run through make test for the PostgreSQL half", EnvPostgres)
	}
	ctx := context.Background()
	adm, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("open admin connection: %v", err)
	}
	defer adm.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "kyso_test_" + hex.EncodeToString(b)
	if _, err := adm.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgres, err)
	}
	u.Path = "/" + name
	t.Cleanup(func() {
		if adm, err := sql.Open("pgx", admin); err == nil {
			_, _ = adm.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			adm.Close()
		}
	})
	return u.String()
}
