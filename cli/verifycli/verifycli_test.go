package verifycli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"kyso/verifier/policy"
)

// vectors are the verifier's signed fixtures.
const vectors = "../../verifier/testdata"

func TestUsageAndExitCodes(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--format", "xml", "a.pdf"},
		{"--bogus"},
		{"a.pdf", "b.pdf"},
		{"--at", "yesterday", "a.pdf"},
		{vectors + "/does-not-exist.pdf"},
		{vectors + "/root.pem", "--trust", vectors + "/root.pem"},
	} {
		var stdout, stderr bytes.Buffer
		if code := Run(context.Background(), args, &stdout, &stderr); code != ExitUnreadable {
			t.Errorf("%q: exit %d, want %d", args, code, ExitUnreadable)
		}
	}
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{vectors + "/lta.pdf", "--trust", vectors + "/root.pem", "--at", "2026-01-15T08:00:00Z", "--offline", "--format", "html"}, &stdout, &stderr)
	if code != ExitPassed || !bytes.Contains(stdout.Bytes(), []byte(`id="verdict"`)) {
		t.Fatalf("html: exit %d\n%s", code, stderr.String())
	}
	// Trust anchors from a configuration file.
	cfg := filepath.Join(t.TempDir(), "kyso.yaml")
	if err := os.WriteFile(cfg, []byte("verifier:\n  trust_files: ["+vectors+"/root.pem]\n  offline: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := Run(context.Background(), []string{"--config", cfg, vectors + "/lta.pdf", "--at", "2026-01-15T08:00:00Z"}, &stdout, &stderr); code != ExitPassed {
		t.Fatalf("--config: exit %d\n%s", code, stderr.String())
	}
	// No trust anchor: the chain cannot be built.
	code = Run(context.Background(), []string{vectors + "/lta.pdf", "--at", "2026-01-15T08:00:00Z", "--offline"}, &stdout, &stderr)
	if code != ExitIndeterminate {
		t.Fatalf("no trust: exit %d, want %d", code, ExitIndeterminate)
	}
}

// --policy and the configuration's verifier.policy select the validation
// policy: one that retired SHA-256 and P-256 in 2000 makes the fixture
// INDETERMINATE; a malformed or missing policy is a usage error.
func TestPolicyFile(t *testing.T) {
	dir := t.TempDir()
	strict := filepath.Join(dir, "strict.yaml")
	text := strings.NewReplacer(`SHA-256: ""`, `SHA-256: "2000-01-01"`, `ECDSA-P256: ""`, `ECDSA-P256: "2000-01-01"`).Replace(string(policy.DefaultYAML()))
	if err := os.WriteFile(strict, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("digests: {MD5: \"\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "kyso.yaml")
	if err := os.WriteFile(cfg, []byte("verifier:\n  offline: true\n  policy: "+strict+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{vectors + "/lta.pdf", "--trust", vectors + "/root.pem", "--at", "2026-01-15T08:00:00Z", "--offline"}
	for _, tc := range []struct {
		extra []string
		want  int
	}{
		{nil, ExitPassed},
		{[]string{"--policy", strict}, ExitIndeterminate},
		{[]string{"--config", cfg}, ExitIndeterminate},
		{[]string{"--policy", bad}, ExitUnreadable},
		{[]string{"--policy", filepath.Join(dir, "missing.yaml")}, ExitUnreadable},
	} {
		var stdout, stderr bytes.Buffer
		if code := Run(context.Background(), append(slices.Clone(base), tc.extra...), &stdout, &stderr); code != tc.want {
			t.Errorf("%v: exit %d, want %d\n%s%s", tc.extra, code, tc.want, stdout.String(), stderr.String())
		}
	}
}
