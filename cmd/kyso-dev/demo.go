package main

import (
	"context"
	"fmt"
	"path/filepath"

	"kyso/cmd/internal/appenv"
	"kyso/cmd/internal/devsetup"
	"kyso/dossier/demo"
)

func runDemo(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("demo", io.Err)
	configPath := fs.String("config", "", "configuration file (for data_dir)")
	baseURL := fs.String("url", "", "server URL (default: base_url in the credentials file)")
	creds := fs.String("credentials", "", "demo principals file (default DATA_DIR/dev-credentials.json)")
	chip := fs.String("chip", "", "synthetic card directory (default DATA_DIR/demo-chip)")
	history := fs.Bool("seed-history", false, "instead of the journey, fill the store with a month of synthetic dossiers for the dashboard")
	days := fs.Int("days", 30, "days of synthetic history (with --seed-history)")
	outDir := fs.String("out", "", "directory for the e-result and the citizen-signed copy (default DATA_DIR/demo)")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	if *history {
		if *days < 1 || *days > 366 {
			fmt.Fprintln(io.Err, "kyso-dev demo: --days must be 1 to 366")
			return exitUsage
		}
		if err := seedHistory(ctx, io, *configPath, *days); err != nil {
			return fail(io.Err, "demo", err)
		}
		return exitOK
	}
	cfg, err := appenv.LoadConfig(*configPath, io.Env)
	if err != nil {
		return fail(io.Err, "demo", err)
	}
	if *creds == "" {
		*creds = filepath.Join(cfg.DataDir, devsetup.CredentialsFile)
	}
	if *chip == "" {
		*chip = filepath.Join(cfg.DataDir, "demo-chip")
	}
	if *outDir == "" {
		*outDir = filepath.Join(cfg.DataDir, "demo")
	}
	if err := demo.Run(ctx, demo.Options{BaseURL: *baseURL, CredentialsFile: *creds, ChipDir: *chip, OutDir: *outDir, Out: io.Out}); err != nil {
		return fail(io.Err, "demo", err)
	}
	return exitOK
}
