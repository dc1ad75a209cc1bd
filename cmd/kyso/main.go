// Command kyso is the production binary of the service: the server, the
// key ceremony, the CA officer's tools, principals, signing, verification,
// the audit log and token set-up. It only wires packages together; the
// behaviour lives in them. Test fixtures, the demo and the load tests are
// in the development binary, kyso-dev, and never link into this one.
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
		"serve":     {"run the HTTP service", runServe},
		"version":   {"print the version", runVersion},
		"principal": {"manage API principals (agency, officer, admin tokens)", runPrincipal},
		"audit":     {"verify or read the tamper-evident audit log", runAudit},
		"token":     {"initialise the HSM token for local use", runToken},
		"ceremony":  {"run key ceremonies in the HSM (init, rotate, list)", runCeremony},
		"ca":        {"CA officer tools: list, show, revoke, release, crl, history", runCA},
		"sign":      {"sign a PDF, any file (CAdES) or JSON (JWS)", runSign},
		"verify":    {"verify signatures in a PDF, CMS or JWS file", runVerify},
		"registry":  {"manage the embedded population registry", runRegistry},
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
		fmt.Fprintf(io.err, "kyso: unknown command %q\n\n", args[0])
		usage(io.err, cmds)
		return exitUsage
	}
	return c.run(ctx, io, args[1:])
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "Kyso: citizen e-identity and free digital signatures.")
	fmt.Fprintln(w, "\nUsage: kyso <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'kyso <command> --help' for a command's flags.")
}

func runVersion(ctx context.Context, io stdio, args []string) int {
	if len(args) > 0 {
		fmt.Fprintln(io.err, "usage: kyso version")
		return exitUsage
	}
	fmt.Fprintln(io.out, "kyso", version)
	return exitOK
}

// subcommand dispatches "kyso NAME SUB …".
func subcommand(ctx context.Context, io stdio, name string, args []string, subs map[string]command) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		w := io.err
		if len(args) > 0 {
			w = io.out
		}
		fmt.Fprintf(w, "Usage: kyso %s <subcommand> [flags]\n\nSubcommands:\n", name)
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
		fmt.Fprintf(io.err, "kyso %s: unknown subcommand %q (want %s)\n", name, args[0], strings.Join(sortedKeys(subs), ", "))
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
