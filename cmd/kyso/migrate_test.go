package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"kyso/schema"
)

// kyso migrate applies every component's migrations once, on SQLite and on
// PostgreSQL, and reports a migrated schema as up to date.
func TestMigrate(t *testing.T) {
	dsns := map[string]string{"sqlite": "sqlite:" + t.TempDir() + "/k.db"}
	if admin := os.Getenv("KYSO_TEST_POSTGRES_DSN"); admin != "" {
		dsns["postgres"] = freshPostgres(t, admin)
	} else if os.Getenv("CI") != "" {
		t.Fatal("KYSO_TEST_POSTGRES_DSN is required (make test starts a PostgreSQL)")
	} else {
		t.Log("KYSO_TEST_POSTGRES_DSN not set: PostgreSQL not tested (make test starts one)")
	}
	for name, dsn := range dsns {
		t.Run(name, func(t *testing.T) {
			env := []string{"KYSO_DATABASE_DSN=" + dsn, "KYSO_DATA_DIR=" + t.TempDir()}
			code, out, errs := runCLI(t, env, "migrate")
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errs)
			}
			for _, c := range schema.Components() {
				if !strings.Contains(out, "applied "+c.Name+"/") {
					t.Errorf("no migration of %s applied:\n%s", c.Name, out)
				}
			}
			if !strings.Contains(out, "applied credential/") {
				t.Errorf("the credentials' tables are not migrated:\n%s", out)
			}
			code, out, errs = runCLI(t, env, "migrate")
			if code != exitOK || !strings.Contains(out, "schema is up to date") || strings.Contains(out, "applied") {
				t.Fatalf("second run: exit %d: %s %s", code, out, errs)
			}
		})
	}
	if code, _, errs := runCLI(t, []string{"KYSO_DATABASE_DSN=postgres://nobody@127.0.0.1:1/none?connect_timeout=2"}, "migrate"); code != exitFail || errs == "" {
		t.Fatalf("unreachable database: exit %d %q", code, errs)
	}
	if code, _, _ := runCLI(t, nil, "migrate", "extra"); code != exitUsage {
		t.Fatalf("extra argument: exit %d", code)
	}
}

// freshPostgres creates an empty database on the test server and returns
// its DSN; it is dropped after the test.
func freshPostgres(t *testing.T, admin string) string {
	t.Helper()
	ctx := context.Background()
	adm, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("kyso_migrate_%d", os.Getpid())
	adm.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	if _, err := adm.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		adm.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		adm.Close()
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
