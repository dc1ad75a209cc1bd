package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// newFlags returns a flag set that prints its usage to w and never exits.
func newFlags(name string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("kyso-dev "+name, flag.ContinueOnError)
	fs.SetOutput(w)
	return fs
}

// parse parses args; it returns -1 to go on, or the exit code: 0 after
// --help, 2 after a bad flag (usage was printed).
func parse(fs *flag.FlagSet, args []string) int {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	return -1
}

// fail prints a message for a failed command and returns exitFail.
func fail(w io.Writer, cmd string, err error) int {
	fmt.Fprintf(w, "kyso-dev %s: %v\n", cmd, err)
	return exitFail
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
