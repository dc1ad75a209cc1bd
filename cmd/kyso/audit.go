package main

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"

	"kyso/audit"
	"kyso/certfile"
)

func runAudit(ctx context.Context, io stdio, args []string) int {
	return subcommand(ctx, io, "audit", args, map[string]command{
		"verify": {"check the whole hash chain and its signed checkpoints", auditVerify},
		"list":   {"print audit entries as JSON lines", auditList},
	})
}

func auditVerify(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("audit verify", io.err)
	configPath := fs.String("config", "", "configuration file")
	keyFile := fs.String("trust-cert", "", "PEM certificate whose key must have signed the checkpoints (default: any key recorded with them)")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	var trusted []crypto.PublicKey
	if *keyFile != "" {
		certs, err := certfile.Read(*keyFile)
		if err != nil {
			return fail(io.err, "audit verify", fmt.Errorf("--trust-cert: %w", err))
		}
		for _, c := range certs {
			trusted = append(trusted, c.PublicKey)
		}
	}
	e, err := openEnv(ctx, io, *configPath, false)
	if err != nil {
		return fail(io.err, "audit verify", err)
	}
	defer e.close()
	l, err := audit.New(ctx, e.db, nil)
	if err != nil {
		return fail(io.err, "audit verify", err)
	}
	rep, err := l.Verify(ctx, trusted...)
	if err != nil {
		return fail(io.err, "audit verify", err)
	}
	if rep.Broken != nil {
		fmt.Fprintf(io.out, "audit chain BROKEN at row %d: %s\n", rep.Broken.Seq, rep.Broken.Reason)
		return exitFail
	}
	fmt.Fprintf(io.out, "audit chain OK: %d entries, %d signed checkpoints, head at row %d\n", rep.Entries, rep.Checkpoints, rep.HeadSeq)
	return exitOK
}

func auditList(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("audit list", io.err)
	configPath := fs.String("config", "", "configuration file")
	object := fs.String("object", "", "only entries about this object")
	actor := fs.String("actor", "", "only entries by this actor")
	after := fs.Int64("after", 0, "only entries after this sequence number")
	limit := fs.Int("limit", 100, "at most this many entries (1-1000)")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	e, err := openEnv(ctx, io, *configPath, false)
	if err != nil {
		return fail(io.err, "audit list", err)
	}
	defer e.close()
	l, err := audit.New(ctx, e.db, nil)
	if err != nil {
		return fail(io.err, "audit list", err)
	}
	entries, err := l.List(ctx, audit.Filter{Object: *object, Actor: *actor, AfterSeq: *after, Limit: *limit})
	if err != nil {
		return fail(io.err, "audit list", err)
	}
	enc := json.NewEncoder(io.out)
	for _, en := range entries {
		_ = enc.Encode(en)
	}
	return exitOK
}
