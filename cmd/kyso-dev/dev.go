package main

import (
	"context"

	"kyso/cmd/internal/devsetup"
)

func runDev(ctx context.Context, io stdio, args []string) int {
	return subcommand(ctx, io, "dev", args, map[string]command{
		"setup": {Summary: "token, dev key ceremony, demo agencies and principals (idempotent)", Run: devSetup},
	})
}

func devSetup(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("dev setup", io.Err)
	configPath := fs.String("config", "", "configuration file")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	if err := devsetup.Setup(ctx, devsetup.Options{ConfigPath: *configPath, Environ: io.Env, Out: io.Out, Log: io.Err}); err != nil {
		return fail(io.Err, "dev setup", err)
	}
	return exitOK
}
