package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"kyso/auth"
)

func runDev(ctx context.Context, io stdio, args []string) int {
	return subcommand(ctx, io, "dev", args, map[string]command{
		"setup": {"token, dev key ceremony, demo agency and officer (idempotent)", devSetup},
	})
}

// devCredentials is var/dev-credentials.json: the demo principals' tokens.
type devCredentials struct {
	BaseURL string            `json:"base_url"`
	Agency  devPrincipal      `json:"agency"`
	Officer devPrincipal      `json:"officer"`
	Admin   devPrincipal      `json:"admin"`
	Notes   map[string]string `json:"notes,omitempty"`
}

type devPrincipal struct {
	ID     string `json:"id"`
	Agency string `json:"agency,omitempty"`
	Token  string `json:"token"`
}

// devAgency is the demo agency of the dev ceremony.
const devAgency = "UBND-HN"

func devSetup(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("dev setup", io.err)
	configPath := fs.String("config", "", "configuration file")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	cfg, err := loadConfig(*configPath, io)
	if err != nil {
		return fail(io.err, "dev setup", err)
	}
	created, err := initToken(cfg.HSM.Module, cfg.HSM.TokenLabel, cfg.HSM.PINFile, cfg.HSM.PINEnv, filepath.Join(filepath.Dir(cfg.HSM.PINFile), "so.pin"))
	if err != nil {
		return fail(io.err, "dev setup", fmt.Errorf("token: %w", err))
	}
	if created {
		fmt.Fprintf(io.out, "token %q initialised\n", cfg.HSM.TokenLabel)
	}
	e, err := openEnv(ctx, io, *configPath, true)
	if err != nil {
		return fail(io.err, "dev setup", err)
	}
	defer e.close()
	if err := devCeremony(ctx, io, e); err != nil {
		return fail(io.err, "dev setup", err)
	}
	path := filepath.Join(cfg.DataDir, "dev-credentials.json")
	if _, err := os.Stat(path); err == nil {
		fmt.Fprintf(io.out, "demo principals already in %s\n", path)
		return exitOK
	} else if !errors.Is(err, os.ErrNotExist) {
		return fail(io.err, "dev setup", err)
	}
	ps, err := auth.NewPrincipals(ctx, e.db)
	if err != nil {
		return fail(io.err, "dev setup", err)
	}
	creds := devCredentials{BaseURL: cfg.PublicURL}
	for _, p := range []struct {
		req auth.AddRequest
		out *devPrincipal
	}{
		{auth.AddRequest{Role: auth.RoleAgency, AgencyCode: devAgency, Name: "UBND Thanh pho Ha Noi (demo)"}, &creds.Agency},
		{auth.AddRequest{Role: auth.RoleOfficer, Name: "CA officer (demo)"}, &creds.Officer},
		{auth.AddRequest{Role: auth.RoleAdmin, Name: "administrator (demo)"}, &creds.Admin},
	} {
		rec, token, err := ps.Add(ctx, p.req)
		if err != nil {
			return fail(io.err, "dev setup", err)
		}
		*p.out = devPrincipal{ID: rec.ID, Agency: rec.AgencyCode, Token: token}
	}
	b, _ := json.MarshalIndent(creds, "", "  ")
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fail(io.err, "dev setup", err)
	}
	fmt.Fprintf(io.out, "demo agency %s, officer and admin created; tokens in %s\n", devAgency, path)
	return exitOK
}
