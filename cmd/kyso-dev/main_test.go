package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func runCLI(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), stdio{In: strings.NewReader(""), Out: &out, Err: &errb, Env: env}, args)
	return code, out.String(), errb.String()
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "Commands:"},
		{[]string{"--help"}, exitOK, "testdata"},
		{[]string{"serve"}, exitUsage, "unknown command"},
		{[]string{"testdata", "chip"}, exitUsage, "--out and --id are required"},
		{[]string{"testdata", "chip-answer", "--dir", "x", "--nonce", "!!"}, exitUsage, "hex or base64"},
		{[]string{"dev"}, exitUsage, "setup"},
		{[]string{"demo", "--bogus"}, exitUsage, "flag provided but not defined"},
		{[]string{"demo", "--seed-history", "--days", "0"}, exitUsage, "--days must be 1 to 366"},
		{[]string{"replicas"}, exitUsage, "check"},
		{[]string{"replicas", "load", "--url", "http://127.0.0.1:1"}, exitUsage, "-credentials string"},
		{[]string{"replicas", "load", "--url", "http://example.org", "--credentials", "c.json", "--out", "o.json"}, exitFail, "not a loopback address"},
		{[]string{"replicas", "check", "--ops", "o.json", "--faults", "f.tsv", "--out", "x"}, exitUsage, "-replica value"},
	} {
		code, out, errs := runCLI(t, nil, tc.args...)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("kyso-dev %v: exit %d, output %q; want exit %d containing %q", tc.args, code, out+errs, tc.code, tc.want)
		}
	}
	_, out, _ := runCLI(t, nil, "--help")
	for _, c := range []string{"dev", "testdata", "demo", "bench", "version"} {
		if !regexp.MustCompile(`(?m)^  ` + c + `\s`).MatchString(out) {
			t.Errorf("--help does not list %s", c)
		}
	}
}

// A synthetic card written by testdata chip answers its challenge.
func TestTestdataChip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "card")
	if code, _, errs := runCLI(t, nil, "testdata", "chip", "--out", dir, "--id", "001099012345", "--issuer-seed", "kyso-dev"); code != exitOK {
		t.Fatalf("testdata chip: %s", errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "card.json")); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, nil, "testdata", "chip-answer", "--dir", dir, "--nonce", "0011223344556677")
	if code != exitOK || len(strings.TrimSpace(out)) < 16 {
		t.Fatalf("chip-answer: exit %d %q %s", code, out, errs)
	}
}

// TestSeedHistory fills an empty store with a few days of synthetic
// dossiers through the dossier service.
func TestSeedHistory(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCLI(t, []string{"KYSO_DATA_DIR=" + dir}, "demo", "--seed-history", "--days", "2")
	if code != exitOK || !strings.Contains(out, "synthetic dossiers") {
		t.Fatalf("exit %d: %s%s", code, out, errs)
	}
}
