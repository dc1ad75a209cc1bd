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
	"kyso/verifier/report"
	"kyso/verifier/revocation"
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
	doc = testdoc.AddDSS(t, doc, []*x509.Certificate{signer.Cert, p.Root.Cert}, [][]byte{p.OCSP(t, signer.Cert, signAt.Add(time.Minute)), p.OCSP(t, p.TSA.Cert, signAt.Add(time.Minute))}, [][]byte{crl})
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
		want report.Indication
	}{
		{"lta.pdf", report.TotalPassed},
		{"page-added.pdf", report.TotalFailed},
	} {
		for _, format := range []string{"text", "json"} {
			t.Run(tc.file+"/"+format, func(t *testing.T) {
				stdout, got := goldenReport(t, filepath.Join(dir, tc.file), root, format)
				if got != tc.want {
					t.Fatalf("%s, want %s\n%s", got, tc.want, stdout.String())
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

// goldenReport verifies path offline at goldenAt with the anchors of root,
// as `kyso verify --offline` does, and renders the report in format.
func goldenReport(t *testing.T, path, root, format string) (*bytes.Buffer, report.Indication) {
	t.Helper()
	roots, err := LoadCertificates(root)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	at, err := time.Parse(time.RFC3339, goldenAt)
	if err != nil {
		t.Fatal(err)
	}
	v := New(Options{Roots: roots, At: at, Revocation: revocation.New(revocation.Config{Offline: true})})
	rep, err := v.Verify(context.Background(), Input{Name: path, Data: data})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out bytes.Buffer
	switch format {
	case "json":
		err = rep.JSON(&out)
	case "html":
		err = rep.HTML(&out)
	default:
		err = rep.Text(&out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return &out, rep.Status.MainIndication
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
