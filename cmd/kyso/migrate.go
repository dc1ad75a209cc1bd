package main

import (
	"context"
	"fmt"

	"kyso/schema"
	"kyso/store"
)

// runMigrate is `kyso migrate`: every component's pending store migrations,
// applied with database.dsn (KYSO_DATABASE_DSN), which names the owner
// role, so that the service role of deploy/postgresql needs no DDL.
func runMigrate(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("migrate", io.Err)
	configPath := fs.String("config", "", "configuration file (database.dsn, or KYSO_DATABASE_DSN, names the schema owner's role)")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	cfg, err := loadConfig(*configPath, io)
	if err != nil {
		return fail(io.Err, "migrate", err)
	}
	db, err := store.Open(ctx, cfg.DatabaseDSN(), newLogger(cfg, io.Err))
	if err != nil {
		return fail(io.Err, "migrate", err)
	}
	defer db.Close()
	applied, err := schema.Migrate(ctx, db)
	if err != nil {
		return fail(io.Err, "migrate", err)
	}
	for _, m := range applied {
		fmt.Fprintf(io.Out, "applied %s/%s\n", m.Component, m.Name)
	}
	if len(applied) == 0 {
		fmt.Fprintf(io.Out, "%s schema is up to date\n", db.Dialect)
	} else {
		fmt.Fprintf(io.Out, "%d migrations applied to the %s schema\n", len(applied), db.Dialect)
	}
	return exitOK
}
