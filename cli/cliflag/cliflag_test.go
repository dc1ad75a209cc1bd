package cliflag

import (
	"flag"
	"io"
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		pos    []string
		server string
		v      bool
		err    bool
	}{
		{name: "flags first", args: []string{"--server", "u", "a.pdf"}, pos: []string{"a.pdf"}, server: "u"},
		{name: "flags after", args: []string{"a.pdf", "--server", "u", "-v"}, pos: []string{"a.pdf"}, server: "u", v: true},
		{name: "mixed", args: []string{"-v", "a", "--server=u", "b"}, pos: []string{"a", "b"}, server: "u", v: true},
		{name: "double dash", args: []string{"a", "--", "--server", "u"}, pos: []string{"a", "--server", "u"}},
		{name: "none", args: nil},
		{name: "unknown flag after", args: []string{"a", "--nope"}, err: true},
		{name: "missing value", args: []string{"a", "--server"}, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			server := fs.String("server", "", "")
			v := fs.Bool("v", false, "")
			pos, err := Parse(fs, tc.args)
			if tc.err {
				if err == nil {
					t.Fatalf("Parse(%q) = %q, want an error", tc.args, pos)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(pos, tc.pos) || *server != tc.server || *v != tc.v {
				t.Fatalf("Parse(%q) = %q server %q v %v, want %q %q %v", tc.args, pos, *server, *v, tc.pos, tc.server, tc.v)
			}
		})
	}
}
