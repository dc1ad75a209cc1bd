package main

import (
	"context"

	"kyso/cmd/internal/devsetup"
)

func runDev(ctx context.Context, io stdio, args []string) int {
	return subcommand(ctx, io, "dev", args, map[string]command{
		"setup": {"token, dev key ceremony, demo agencies and principals (idempotent)", devSetup},
	})
}

func devSetup(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("dev setup", io.err)
	configPath := fs.String("config", "", "configuration file")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	if err := devsetup.Setup(ctx, devsetup.Options{ConfigPath: *configPath, Environ: io.env, Out: io.out, Log: io.err}); err != nil {
		return fail(io.err, "dev setup", err)
	}
	return exitOK
}
