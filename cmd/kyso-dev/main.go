// Command kyso-dev is the development binary: local setup for `make run`
// (token, dev key ceremony, demo agencies and principals), synthetic chip
// cards and test documents, the demo walk-through and the load tests of
// `make bench`. It links the test fixtures that the production binary,
// kyso, must not contain.
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
		"dev":           {Summary: "local development setup (token, ceremony, demo agencies and principals)", Run: runDev},
		"testdata":      {Summary: "generate synthetic chip cards and test documents", Run: runTestdata},
		"demo":          {Summary: "walk a synthetic citizen through the five-step process", Run: runDemo},
		"bench":         {Summary: "load tests against a running server (make bench)", Run: runBench},
		"replicas":      {Summary: "the load and checks of make replicas-test (replicas, faults, lost records)", Run: runReplicas},
		"oidc-provider": {Summary: "a local OpenID provider standing in for VNeID (make run starts it)", Run: runOIDCProvider},
	}
}

// program is this binary's command tree.
func program() cli.Program {
	p := cli.Program{Name: "kyso-dev", Banner: "Kyso development tools (the service itself is the kyso binary).", Commands: commands()}
	p.Commands["version"] = p.Version(version)
	return p
}

func main() { program().Main() }

func run(ctx context.Context, io stdio, args []string) int { return program().Run(ctx, io, args) }

// subcommand dispatches "kyso-dev NAME SUB …".
func subcommand(ctx context.Context, io stdio, name string, args []string, subs map[string]command) int {
	return program().Subcommand(ctx, io, name, args, subs)
}
