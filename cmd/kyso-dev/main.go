// Command kyso-dev is the development binary: local setup for `make run`
// (token, dev key ceremony, demo agencies and principals), synthetic chip
// cards and test documents, the demo walk-through and the load tests of
// `make bench`. It links the test fixtures that the production binary,
// kyso, must not contain.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes shared by every command.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

type stdio struct {
	in       io.Reader
	out, err io.Writer
	env      []string
}

type command struct {
	summary string
	run     func(ctx context.Context, io stdio, args []string) int
}

func commands() map[string]command {
	return map[string]command{
		"version":       {"print the version", runVersion},
		"dev":           {"local development setup (token, ceremony, demo agencies and principals)", runDev},
		"testdata":      {"generate synthetic chip cards and test documents", runTestdata},
		"demo":          {"walk a synthetic citizen through the five-step process", runDemo},
		"bench":         {"load tests against a running server (make bench)", runBench},
		"oidc-provider": {"a local OpenID provider standing in for VNeID (make run starts it)", runOIDCProvider},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr, env: os.Environ()}, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, io stdio, args []string) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(io.out, cmds)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(io.err, "kyso-dev: unknown command %q\n\n", args[0])
		usage(io.err, cmds)
		return exitUsage
	}
	return c.run(ctx, io, args[1:])
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "Kyso development tools (the service itself is the kyso binary).")
	fmt.Fprintln(w, "\nUsage: kyso-dev <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'kyso-dev <command> --help' for a command's flags.")
}

func runVersion(ctx context.Context, io stdio, args []string) int {
	if len(args) > 0 {
		fmt.Fprintln(io.err, "usage: kyso-dev version")
		return exitUsage
	}
	fmt.Fprintln(io.out, "kyso-dev", version)
	return exitOK
}

// subcommand dispatches "kyso-dev NAME SUB …".
func subcommand(ctx context.Context, io stdio, name string, args []string, subs map[string]command) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		w := io.err
		if len(args) > 0 {
			w = io.out
		}
		fmt.Fprintf(w, "Usage: kyso-dev %s <subcommand> [flags]\n\nSubcommands:\n", name)
		keys := make([]string, 0, len(subs))
		for k := range subs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %-12s %s\n", k, subs[k].summary)
		}
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	c, ok := subs[args[0]]
	if !ok {
		fmt.Fprintf(io.err, "kyso-dev %s: unknown subcommand %q (want %s)\n", name, args[0], strings.Join(sortedKeys(subs), ", "))
		return exitUsage
	}
	return c.run(ctx, io, args[1:])
}

func sortedKeys(m map[string]command) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
