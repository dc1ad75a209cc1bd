// Command kyso is the production binary of the service: the server, the
// key ceremony, the CA officer's tools, principals, signing, verification,
// the audit log and token set-up. It only wires packages together; the
// behaviour lives in them. Test fixtures, the demo and the load tests are
// in the development binary, kyso-dev, and never link into this one.
package main

import (
	"context"

	"kyso/cmd/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes shared by every command.
const (
	exitOK    = cli.ExitOK
	exitFail  = cli.ExitFail
	exitUsage = cli.ExitUsage
)

type (
	stdio   = cli.Stdio
	command = cli.Command
)

func commands() map[string]command {
	return map[string]command{
		"serve":     {Summary: "run the HTTP service", Run: runServe},
		"principal": {Summary: "manage API principals (agency, officer, admin tokens)", Run: runPrincipal},
		"audit":     {Summary: "verify or read the tamper-evident audit log", Run: runAudit},
		"token":     {Summary: "initialise the HSM token for local use", Run: runToken},
		"ceremony":  {Summary: "run key ceremonies in the HSM (init, rotate, list, log-key)", Run: runCeremony},
		"ca":        {Summary: "CA officer tools: list, show, revoke, release, crl, history", Run: runCA},
		"sign":      {Summary: "sign a PDF, any file (CAdES) or JSON (JWS)", Run: runSign},
		"verify":    {Summary: "verify signatures in a PDF, CMS or JWS file", Run: runVerify},
		"registry":  {Summary: "manage the embedded population registry", Run: runRegistry},
		"migrate":   {Summary: "apply the store migrations (with the database owner's role; the service role then needs no DDL)", Run: runMigrate},
	}
}

// program is this binary's command tree.
func program() cli.Program {
	p := cli.Program{Name: "kyso", Banner: "Kyso: citizen e-identity and free digital signatures.", Commands: commands()}
	p.Commands["version"] = p.Version(version)
	return p
}

func main() { program().Main() }

func run(ctx context.Context, io stdio, args []string) int { return program().Run(ctx, io, args) }

// subcommand dispatches "kyso NAME SUB …".
func subcommand(ctx context.Context, io stdio, name string, args []string, subs map[string]command) int {
	return program().Subcommand(ctx, io, name, args, subs)
}
