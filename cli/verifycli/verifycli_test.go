package verifycli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
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
