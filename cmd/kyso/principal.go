package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"kyso/auth"
	"kyso/certfile"
)

func runPrincipal(ctx context.Context, io stdio, args []string) int {
	return subcommand(ctx, io, "principal", args, map[string]command{
		"add":     {Summary: "create a principal and print its API token once", Run: principalAdd},
		"list":    {Summary: "list principals", Run: principalList},
		"disable": {Summary: "stop a principal from authenticating", Run: principalDisable},
	})
}

func principalAdd(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("principal add", io.Err)
	configPath := fs.String("config", "", "configuration file")
	role := fs.String("role", "", "agency, officer or admin (required)")
	agency := fs.String("agency", "", "agency code (required for --role agency)")
	name := fs.String("name", "", "display name")
	certFile := fs.String("cert", "", "PEM client certificate that may authenticate as this principal (mTLS)")
	asJSON := fs.Bool("json", false, "print the principal and token as JSON")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	if *role == "" || fs.NArg() > 0 {
		fmt.Fprintln(io.Err, "kyso principal add: --role is required and no arguments are taken")
		fs.Usage()
		return exitUsage
	}
	req := auth.AddRequest{Role: auth.Role(*role), AgencyCode: *agency, Name: *name}
	if *certFile != "" {
		certs, err := certfile.Read(*certFile)
		if err != nil {
			return fail(io.Err, "principal add", fmt.Errorf("--cert: %w", err))
		}
		req.ClientCert = certs[0]
	}
	e, err := openEnv(ctx, io, *configPath, false)
	if err != nil {
		return fail(io.Err, "principal add", err)
	}
	defer e.close()
	ps, err := auth.NewPrincipals(ctx, e.db)
	if err != nil {
		return fail(io.Err, "principal add", err)
	}
	rec, token, err := ps.Add(ctx, req)
	if err != nil {
		return fail(io.Err, "principal add", err)
	}
	if *asJSON {
		_ = json.NewEncoder(io.Out).Encode(map[string]string{"id": rec.ID, "role": string(rec.Role), "agency": rec.AgencyCode, "name": rec.Name, "token": token})
		return exitOK
	}
	fmt.Fprintf(io.Err, "created %s principal %s; the token is shown only once:\n", rec.Role, rec.ID)
	fmt.Fprintln(io.Out, token)
	return exitOK
}

func principalList(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("principal list", io.Err)
	configPath := fs.String("config", "", "configuration file")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	e, err := openEnv(ctx, io, *configPath, false)
	if err != nil {
		return fail(io.Err, "principal list", err)
	}
	defer e.close()
	ps, err := auth.NewPrincipals(ctx, e.db)
	if err != nil {
		return fail(io.Err, "principal list", err)
	}
	list, err := ps.List(ctx)
	if err != nil {
		return fail(io.Err, "principal list", err)
	}
	tw := tabwriter.NewWriter(io.Out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tROLE\tAGENCY\tNAME\tCREATED\tSTATUS")
	for _, p := range list {
		status := "active"
		if p.Disabled {
			status = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.ID, p.Role, p.AgencyCode, p.Name, p.CreatedAt.Format("2006-01-02 15:04"), status)
	}
	tw.Flush()
	return exitOK
}

func principalDisable(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("principal disable", io.Err)
	configPath := fs.String("config", "", "configuration file")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(io.Err, "usage: kyso principal disable [--config FILE] ID")
		return exitUsage
	}
	e, err := openEnv(ctx, io, *configPath, false)
	if err != nil {
		return fail(io.Err, "principal disable", err)
	}
	defer e.close()
	ps, err := auth.NewPrincipals(ctx, e.db)
	if err != nil {
		return fail(io.Err, "principal disable", err)
	}
	if err := ps.Disable(ctx, fs.Arg(0)); err != nil {
		return fail(io.Err, "principal disable", err)
	}
	fmt.Fprintln(io.Out, "disabled", fs.Arg(0))
	return exitOK
}
