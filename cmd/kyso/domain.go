package main

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"

	"kyso/auth"
	"kyso/ca/ceremony"
	"kyso/ca/officercli"
	"kyso/cli/signcli"
	"kyso/cli/verifycli"
	"kyso/cmd/internal/appenv"
	"kyso/credential"
	"kyso/identity"
)

// Commands that hand their arguments to a package's own command line read
// the service configuration from $KYSO_CONFIG (their --config flags mean
// something else, such as the ceremony file).
func envConfigPath(io stdio) string {
	for _, kv := range io.Env {
		if v, ok := strings.CutPrefix(kv, "KYSO_CONFIG="); ok {
			return v
		}
	}
	return ""
}

func runCeremony(ctx context.Context, io stdio, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		return ceremony.RunCLI(ctx, args, ceremony.CLIDeps{Stdout: io.Out, Stderr: io.Err})
	}
	e, err := openEnv(ctx, io, envConfigPath(io), true)
	if err != nil {
		return fail(io.Err, "ceremony", err)
	}
	defer e.close()
	deps := ceremony.CLIDeps{HSM: e.hsm, DB: e.db, LogOrigin: e.cfg.LogOrigin(), Stdout: io.Out, Stderr: io.Err}
	if args[0] == "log-key" {
		// The log key is on the service token, used through
		// hsm.audit_module when that names a module carrying EdDSA.
		h, err := e.logKeyHSM(ctx)
		if err != nil {
			return fail(io.Err, "ceremony", err)
		}
		deps.HSM = h
	}
	if args[0] != "list" && args[0] != "log-key" {
		// Only ceremonies open the root CA's token.
		root, err := (&appenv.Env{Config: e.cfg, Log: e.log}).OpenRootHSM(ctx)
		if err != nil {
			return fail(io.Err, "ceremony", err)
		}
		defer root.Close()
		deps.Root = root
	}
	return ceremony.RunCLI(ctx, args, deps)
}

// runCA is the CA officer's command line.
func runCA(ctx context.Context, io stdio, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		return officercli.Run(ctx, args, officercli.Deps{Actor: &auth.Principal{Role: auth.RoleOfficer}, Stdout: io.Out, Stderr: io.Err})
	}
	e, err := openEnv(ctx, io, envConfigPath(io), true)
	if err != nil {
		return fail(io.Err, "ca", err)
	}
	defer e.close()
	c, err := open(ctx, e)
	if err != nil {
		return fail(io.Err, "ca", err)
	}
	name := "cli"
	if u, err := user.Current(); err == nil {
		name = "cli:" + u.Username
	}
	return officercli.Run(ctx, args, officercli.Deps{CA: c.ca, Audit: c.audit,
		Actor: &auth.Principal{Role: auth.RoleOfficer, Subject: name, Name: name}, Stdout: io.Out, Stderr: io.Err})
}

// errCitizenKey refuses local signing with a citizen's key: it signs only
// through the signing service, opened with the citizen's PIN.
var errCitizenKey = errors.New("refusing a citizen's key: a citizen's key signs only through the signing service with the citizen's PIN (kyso sign --server … --credential-id …)")

func runSign(ctx context.Context, io stdio, args []string) int {
	getenv := func(k string) string {
		for _, kv := range io.Env {
			if v, ok := strings.CutPrefix(kv, k+"="); ok {
				return v
			}
		}
		return ""
	}
	deps := signcli.Deps{Getenv: getenv}
	var e *env
	deps.OpenKey = func(ctx context.Context, label string) (crypto.Signer, func(), error) {
		if credential.IsCitizenKeyLabel(label) {
			return nil, nil, errCitizenKey
		}
		var err error
		if e == nil {
			if e, err = openEnv(ctx, io, envConfigPath(io), true); err != nil {
				return nil, nil, err
			}
		}
		k, err := e.hsm.FindKey(ctx, label)
		if err != nil {
			return nil, nil, err
		}
		return k, func() {}, nil
	}
	defer func() {
		if e != nil {
			e.close()
		}
	}()
	return signcli.Run(ctx, args, deps, io.Out, io.Err)
}

func runVerify(ctx context.Context, io stdio, args []string) int {
	return verifycli.Run(ctx, args, io.Out, io.Err)
}

func runRegistry(ctx context.Context, io stdio, args []string) int {
	return subcommand(ctx, io, "registry", args, map[string]command{
		"import": {Summary: "import citizens from CSV (id,full_name,birth_date,sex) into the embedded registry", Run: registryImport},
	})
}

func registryImport(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("registry import", io.Err)
	configPath := fs.String("config", "", "configuration file")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(io.Err, "usage: kyso registry import [--config FILE] FILE.csv")
		return exitUsage
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return fail(io.Err, "registry import", err)
	}
	defer f.Close()
	e, err := openEnv(ctx, io, *configPath, false)
	if err != nil {
		return fail(io.Err, "registry import", err)
	}
	defer e.close()
	if err := identity.Migrate(ctx, e.db); err != nil {
		return fail(io.Err, "registry import", err)
	}
	n, err := identity.ImportRegistryCSV(ctx, e.db, f)
	if err != nil {
		return fail(io.Err, "registry import", err)
	}
	fmt.Fprintf(io.Out, "imported %d citizens\n", n)
	return exitOK
}
