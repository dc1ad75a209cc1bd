package verifier

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"kyso/signer/jws"
	"kyso/verifier/internal/testdoc"
	"kyso/verifier/report"
)

var updateJAdESLTAFixture = flag.Bool("update-jades-lta-fixture", false, "regenerate testdata/jws-lta (then run -update)")

// makeJAdESLTAFixture writes a JAdES B-LTA signature made by
// kyso/signer/jws at fixed times (signed, time-stamped, then archived a
// day later) and the root it chains to.
func makeJAdESLTAFixture(t *testing.T, dir string) {
	p := testdoc.NewPKI(t)
	an := p.Issue(t, testdoc.Profile{CN: "Nguyễn Văn An", UID: "CCCD:001234567890"})
	signAt := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	bt, err := jws.Sign(ctx, an.Key, an.Cert, nil, []byte(`{"form":"TK01","ho_ten":"Nguyễn Văn An","cccd":"001234567890"}`),
		jws.Options{Serialization: jws.JSON, Time: signAt, Stamper: fixedStamper{p, signAt.Add(time.Minute)}})
	if err != nil {
		t.Fatal(err)
	}
	archiveAt := signAt.Add(24 * time.Hour)
	lta, err := jws.Extend(ctx, bt, jws.ExtendOptions{Stamper: fixedStamper{p, archiveAt}, Revocation: fixedRevocation{t, p, archiveAt.Add(-time.Minute)}, Root: p.Root.Cert})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"root.pem": pemCert(p.Root.Cert), "b-lta.json": lta} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestJAdESLTAGolden checks kyso verify's report on a JAdES B-LTA
// signature (offline, at the golden time): the signature time-stamp, the
// archive time-stamp and the level.
func TestJAdESLTAGolden(t *testing.T) {
	dir := filepath.Join("testdata", "jws-lta")
	if *updateJAdESLTAFixture {
		makeJAdESLTAFixture(t, dir)
	}
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			stdout, got := goldenReport(t, filepath.Join(dir, "b-lta.json"), filepath.Join(dir, "root.pem"), format)
			if got != report.TotalPassed || !bytes.Contains(stdout.Bytes(), []byte("JAdES-BASELINE-LTA")) {
				t.Fatalf("%s\n%s", got, stdout.String())
			}
			golden := filepath.Join("testdata", "golden", "jades-b-lta.json."+format)
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
				t.Fatalf("report differs from %s (run go test -run TestJAdESLTAGolden -update):\n%s", golden, stdout.String())
			}
		})
	}
}
