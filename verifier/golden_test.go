package verifier

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"kyso/verifier/internal/testdoc"
)

var (
	update         = flag.Bool("update", false, "rewrite the golden reports in testdata/golden")
	updateFixtures = flag.Bool("update-fixtures", false, "regenerate the signed fixtures in testdata (then run -update)")
)

const goldenAt = "2026-01-15T08:00:00Z"

// makeFixtures writes signed documents made at fixed times, and the root
// they chain to, so the golden reports are reproducible.
func makeFixtures(t *testing.T, dir string) {
	p := testdoc.NewPKI(t)
	signer := p.Issue(t, testdoc.Profile{CN: "Nguyễn Văn An", UID: "CCCD:001234567890"})
	signAt := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	p.TSATime = func() time.Time { return signAt }
	doc := p.Sign(t, testdoc.MinimalPDF("Giay xac nhan"), testdoc.SignOptions{Signer: signer, TSA: true, Date: signAt, Reason: "Xac nhan"})
	crl, err := p.CRL(signAt.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	doc = testdoc.AddDSS(t, doc, []*x509.Certificate{signer.Cert, p.Root.Cert}, [][]byte{p.OCSP(t, signer.Cert, signAt.Add(time.Minute))}, [][]byte{crl})
	p.TSATime = func() time.Time { return signAt.Add(2 * time.Minute) }
	lta := p.DocTimeStamp(t, doc)
	_, next := testdoc.Object(t, lta, 1)
	added := testdoc.Update(t, lta, map[int]string{
		2:    fmt.Sprintf("<< /Type /Pages /Kids [3 0 R %d 0 R] /Count 2 >>", next),
		next: "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
	}, 0)
	files := map[string][]byte{
		"root.pem":       pemCert(p.Root.Cert),
		"lta.pdf":        lta,
		"page-added.pdf": added,
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestGolden(t *testing.T) {
	dir := "testdata"
	if *updateFixtures {
		if err := os.MkdirAll(filepath.Join(dir, "golden"), 0o755); err != nil {
			t.Fatal(err)
		}
		makeFixtures(t, dir)
	}
	root := filepath.Join(dir, "root.pem")
	for _, tc := range []struct {
		file string
		code int
	}{
		{"lta.pdf", ExitPassed},
		{"page-added.pdf", ExitFailed},
	} {
		for _, format := range []string{"text", "json"} {
			t.Run(tc.file+"/"+format, func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				code := RunCLI(context.Background(), []string{filepath.Join(dir, tc.file), "--trust", root, "--format", format, "--at", goldenAt, "--offline"}, &stdout, &stderr)
				if code != tc.code {
					t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, stdout.String(), stderr.String())
				}
				golden := filepath.Join(dir, "golden", tc.file+"."+format)
				if *update {
					if err := os.WriteFile(golden, stdout.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(stdout.Bytes(), want) {
					t.Fatalf("report differs from %s (run go test -run TestGolden -update):\n%s", golden, stdout.String())
				}
			})
		}
	}
}

func TestRunCLIUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--format", "xml", "a.pdf"},
		{"--bogus"},
		{"a.pdf", "b.pdf"},
		{"--at", "yesterday", "a.pdf"},
		{"testdata/does-not-exist.pdf"},
		{"testdata/root.pem", "--trust", "testdata/root.pem"},
	} {
		var stdout, stderr bytes.Buffer
		if code := RunCLI(context.Background(), args, &stdout, &stderr); code != ExitUnreadable {
			t.Errorf("%q: exit %d, want %d", args, code, ExitUnreadable)
		}
	}
	var stdout, stderr bytes.Buffer
	code := RunCLI(context.Background(), []string{"testdata/lta.pdf", "--trust", "testdata/root.pem", "--at", "2026-01-15T08:00:00Z", "--offline", "--format", "html"}, &stdout, &stderr)
	if code != ExitPassed || !bytes.Contains(stdout.Bytes(), []byte(`id="verdict"`)) {
		t.Fatalf("html: exit %d\n%s", code, stderr.String())
	}
	// Trust anchors from a configuration file.
	cfg := filepath.Join(t.TempDir(), "kyso.yaml")
	if err := os.WriteFile(cfg, []byte("verifier:\n  trust_files: [testdata/root.pem]\n  offline: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := RunCLI(context.Background(), []string{"--config", cfg, "testdata/lta.pdf", "--at", "2026-01-15T08:00:00Z"}, &stdout, &stderr); code != ExitPassed {
		t.Fatalf("--config: exit %d\n%s", code, stderr.String())
	}
	// No trust anchor: the chain cannot be built.
	code = RunCLI(context.Background(), []string{"testdata/lta.pdf", "--at", "2026-01-15T08:00:00Z", "--offline"}, &stdout, &stderr)
	if code != ExitIndeterminate {
		t.Fatalf("no trust: exit %d, want %d", code, ExitIndeterminate)
	}
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
