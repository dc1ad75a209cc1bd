package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"kyso/cmd/internal/appenv"
	"kyso/loadtest"
	"kyso/loadtest/replicas"
	"kyso/store"
)

// runReplicas is `kyso-dev replicas load|check`, the Go side of make
// replicas-test (scripts/replicas-test.sh starts the replicas and makes
// the faults).
func runReplicas(ctx context.Context, io stdio, args []string) int {
	return subcommand(ctx, io, "replicas", args, map[string]command{
		"load":  {Summary: "drive the mixed load through the balancer and note every acknowledged record", Run: replicasLoad},
		"check": {Summary: "look every acknowledged record up and write report.json and report.txt", Run: replicasCheck},
	})
}

func replicasLoad(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("replicas load", io.Err)
	base := fs.String("url", "", "the load balancer's URL (loopback)")
	creds := fs.String("credentials", "", "dev credentials file (kyso-dev dev setup writes it)")
	workers := fs.Int("workers", 2, "concurrent citizens")
	duration := fs.Duration("duration", 30*time.Second, "no operation starts after this")
	out := fs.String("out", "", "write the operations as JSON to this file (required)")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	if *base == "" || *creds == "" || *out == "" || fs.NArg() > 0 || *workers < 1 || *workers > 64 || *duration <= 0 || *duration > time.Hour {
		fs.Usage()
		return exitUsage
	}
	if err := loadtest.CheckLoopback(*base); err != nil {
		return fail(io.Err, "replicas load", err)
	}
	c, err := replicas.LoadCredentials(*creds, os.ReadFile)
	if err != nil {
		return fail(io.Err, "replicas load", err)
	}
	ops, err := replicas.Load(ctx, replicas.LoadOptions{URL: *base, Credentials: c, Workers: *workers, Duration: *duration,
		HTTP: &http.Client{Timeout: 60 * time.Second}})
	if err != nil {
		return fail(io.Err, "replicas load", err)
	}
	if err := writeJSON(*out, ops); err != nil {
		return fail(io.Err, "replicas load", err)
	}
	fmt.Fprintf(io.Out, "%d operations written to %s\n", len(ops), *out)
	return exitOK
}

func replicasCheck(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("replicas check", io.Err)
	configPath := fs.String("config", "", "configuration file (database.dsn)")
	opsPath := fs.String("ops", "", "operations file of replicas load (required)")
	faultsPath := fs.String("faults", "", "fault windows: name, start, end (Unix seconds) per line, tab separated (required)")
	var urls multiFlag
	fs.Var(&urls, "replica", "base URL of one replica, reached directly (repeatable, required)")
	auditOK := fs.Bool("audit-verified", false, "kyso audit verify passed")
	killed := fs.Int("killed-replica-requests", 0, "API requests the killed replica had served before the kill")
	recoveries := fs.Int("hsm-recoveries", 0, "the replicas' HSM session pool recoveries (kyso_hsm_recoveries_total) after the load")
	outDir := fs.String("out", "", "directory for report.json and report.txt (required)")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	if *opsPath == "" || *faultsPath == "" || *outDir == "" || len(urls) == 0 || fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	for _, u := range urls {
		if err := loadtest.CheckLoopback(u); err != nil {
			return fail(io.Err, "replicas check", err)
		}
	}
	var ops []replicas.Op
	b, err := os.ReadFile(*opsPath)
	if err == nil {
		err = json.Unmarshal(b, &ops)
	}
	if err != nil {
		return fail(io.Err, "replicas check", fmt.Errorf("operations: %w", err))
	}
	f, err := os.Open(*faultsPath)
	if err != nil {
		return fail(io.Err, "replicas check", err)
	}
	faults, err := replicas.ReadFaults(f)
	f.Close()
	if err != nil {
		return fail(io.Err, "replicas check", err)
	}
	cfg, err := appenv.LoadConfig(*configPath, io.Env)
	if err != nil {
		return fail(io.Err, "replicas check", err)
	}
	db, err := store.Open(ctx, cfg.DatabaseDSN(), nil)
	if err != nil {
		return fail(io.Err, "replicas check", err)
	}
	defer db.Close()
	rep, err := replicas.Check(ctx, ops, faults, replicas.CheckOptions{DB: db.DB, Replicas: urls, AuditVerifies: *auditOK, HSMRecoveries: *recoveries, KilledReplicaRequests: *killed})
	if err != nil {
		return fail(io.Err, "replicas check", err)
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return fail(io.Err, "replicas check", err)
	}
	if err := writeJSON(filepath.Join(*outDir, "report.json"), rep); err != nil {
		return fail(io.Err, "replicas check", err)
	}
	txt := rep.Text()
	if err := os.WriteFile(filepath.Join(*outDir, "report.txt"), []byte(txt), 0o644); err != nil {
		return fail(io.Err, "replicas check", err)
	}
	fmt.Fprint(io.Out, txt)
	if f := rep.Failures(); len(f) > 0 {
		return exitFail
	}
	return exitOK
}
