package main

import (
	"context"
	"fmt"
	"path/filepath"

	"kyso/cmd/internal/appenv"
)

func runToken(ctx context.Context, io stdio, args []string) int {
	return subcommand(ctx, io, "token", args, map[string]command{
		"init": {Summary: "initialise the service, citizen-key and root tokens and the citizen-key secret; PINs come from files, never argv", Run: tokenInit},
	})
}

func tokenInit(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("token init", io.Err)
	configPath := fs.String("config", "", "configuration file")
	soPINFile := fs.String("so-pin-file", "", "file holding the security officer PIN (created with a random PIN if missing)")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	cfg, err := loadConfig(*configPath, io)
	if err != nil {
		return fail(io.Err, "token init", err)
	}
	if *soPINFile == "" {
		*soPINFile = filepath.Join(filepath.Dir(cfg.HSM.PINFile), "so.pin")
	}
	created, err := appenv.InitToken(cfg, cfg.HSM.TokenLabel, cfg.HSM.PINFile, cfg.HSM.PINEnv, *soPINFile)
	if err != nil {
		return fail(io.Err, "token init", err)
	}
	if created {
		fmt.Fprintf(io.Out, "initialised token %q\n", cfg.HSM.TokenLabel)
	} else {
		fmt.Fprintf(io.Out, "token %q already initialised\n", cfg.HSM.TokenLabel)
	}
	if err := appenv.InitCitizenToken(ctx, appenv.Options{ConfigPath: *configPath, Environ: io.Env, LogTo: io.Err}, io.Out); err != nil {
		return fail(io.Err, "token init", err)
	}
	if created, err := appenv.InitRootToken(cfg); err != nil {
		return fail(io.Err, "token init", err)
	} else if created {
		fmt.Fprintf(io.Out, "initialised root token %q\n", cfg.HSM.RootTokenLabel)
	}
	return exitOK
}
