// Package cli is the command-line frame both binaries share (kyso and
// kyso-dev): commands and subcommands with one-line summaries, flag sets
// that never exit the process, messages for failures, and the exit codes
// (0 done, 1 failed, 2 bad usage).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// Exit codes shared by every command.
const (
	ExitOK    = 0
	ExitFail  = 1
	ExitUsage = 2
)

// Stdio is a command's standard streams and environment.
type Stdio struct {
	In       io.Reader
	Out, Err io.Writer
	Env      []string
}

// Command is one command or subcommand.
type Command struct {
	Summary string
	Run     func(ctx context.Context, io Stdio, args []string) int
}

// Program is a binary's command tree.
type Program struct {
	// Name is the binary's name ("kyso").
	Name string
	// Banner is the first line of the usage text.
	Banner   string
	Commands map[string]Command
}

// Main runs the program on the process's arguments and streams, with a
// context that ends on SIGINT or SIGTERM, and exits with its code.
func (p Program) Main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := p.Run(ctx, Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Env: os.Environ()}, os.Args[1:])
	stop()
	os.Exit(code)
}

// Version is the "version" command printing the program's name and v.
func (p Program) Version(v string) Command {
	return Command{Summary: "print the version", Run: func(ctx context.Context, io Stdio, args []string) int {
		if len(args) > 0 {
			fmt.Fprintf(io.Err, "usage: %s version\n", p.Name)
			return ExitUsage
		}
		fmt.Fprintln(io.Out, p.Name, v)
		return ExitOK
	}}
}

// Run dispatches args to a command.
func (p Program) Run(ctx context.Context, io Stdio, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		p.Usage(io.Out)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	c, ok := p.Commands[args[0]]
	if !ok {
		fmt.Fprintf(io.Err, "%s: unknown command %q\n\n", p.Name, args[0])
		p.Usage(io.Err)
		return ExitUsage
	}
	return c.Run(ctx, io, args[1:])
}

// Usage lists the commands.
func (p Program) Usage(w io.Writer) {
	fmt.Fprintln(w, p.Banner)
	fmt.Fprintf(w, "\nUsage: %s <command> [flags]\n\nCommands:\n", p.Name)
	for _, n := range sortedKeys(p.Commands) {
		fmt.Fprintf(w, "  %-10s %s\n", n, p.Commands[n].Summary)
	}
	fmt.Fprintf(w, "\nRun '%s <command> --help' for a command's flags.\n", p.Name)
}

// Subcommand dispatches "NAME SUB …" of the program.
func (p Program) Subcommand(ctx context.Context, io Stdio, name string, args []string, subs map[string]Command) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		w := io.Err
		if len(args) > 0 {
			w = io.Out
		}
		fmt.Fprintf(w, "Usage: %s %s <subcommand> [flags]\n\nSubcommands:\n", p.Name, name)
		for _, k := range sortedKeys(subs) {
			fmt.Fprintf(w, "  %-12s %s\n", k, subs[k].Summary)
		}
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	c, ok := subs[args[0]]
	if !ok {
		fmt.Fprintf(io.Err, "%s %s: unknown subcommand %q (want %s)\n", p.Name, name, args[0], strings.Join(sortedKeys(subs), ", "))
		return ExitUsage
	}
	return c.Run(ctx, io, args[1:])
}

func sortedKeys(m map[string]Command) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// NewFlags returns a flag set named "PROG NAME" that prints its usage to w
// and never exits.
func NewFlags(prog, name string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(prog+" "+name, flag.ContinueOnError)
	fs.SetOutput(w)
	return fs
}

// Parse parses args; it returns -1 to go on, or the exit code: 0 after
// --help, 2 after a bad flag (usage was printed).
func Parse(fs *flag.FlagSet, args []string) int {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	return -1
}

// Fail prints a message for a failed command and returns ExitFail.
func Fail(w io.Writer, prog, cmd string, err error) int {
	fmt.Fprintf(w, "%s %s: %v\n", prog, cmd, err)
	return ExitFail
}

// MultiFlag is a repeatable string flag.
type MultiFlag []string

func (m *MultiFlag) String() string     { return fmt.Sprint(*m) }
func (m *MultiFlag) Set(v string) error { *m = append(*m, v); return nil }
