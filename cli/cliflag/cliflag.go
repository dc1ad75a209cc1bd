// Package cliflag parses command lines whose flags may come before or after
// their positional arguments ("kyso sign extend signed.pdf --server URL"),
// which the standard flag package stops at.
package cliflag

import "flag"

// Parse parses args with fs, letting flags follow positional arguments,
// and returns the positional arguments in order. "--" ends flag parsing:
// everything after it is positional.
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// flag stops at "--" (consumed) or at the first non-flag: find
		// which by comparing with what was given.
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
