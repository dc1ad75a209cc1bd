package main

import (
	"flag"
	"io"

	"kyso/cmd/internal/cli"
)

// newFlags returns a flag set that prints its usage to w and never exits.
func newFlags(name string, w io.Writer) *flag.FlagSet { return cli.NewFlags("kyso-dev", name, w) }

// parse parses args; it returns -1 to go on, or the exit code: 0 after
// --help, 2 after a bad flag (usage was printed).
func parse(fs *flag.FlagSet, args []string) int { return cli.Parse(fs, args) }

// fail prints a message for a failed command and returns exitFail.
func fail(w io.Writer, cmd string, err error) int { return cli.Fail(w, "kyso-dev", cmd, err) }

// multiFlag is a repeatable string flag.
type multiFlag = cli.MultiFlag
