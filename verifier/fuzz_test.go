package verifier

import (
	"context"
	"os"
	"testing"
	"time"

	"kyso/verifier/internal/testdoc"
	"kyso/verifier/pdfscan"
)

func FuzzVerify(f *testing.F) {
	// Small seeds keep the fuzzer fast; the signed fixtures are large.
	if b, err := os.ReadFile("pdfscan/testdata/small.pdf"); err == nil {
		f.Add(b)
	}
	f.Add(testdoc.MinimalPDF("x"))
	f.Add([]byte("eyJhbGciOiJFUzI1NiJ9.e30.AAAA"))
	roots, _ := LoadCertificates("testdata/root.pem")
	v := New(Options{Roots: roots, At: time.Date(2026, 1, 15, 8, 0, 0, 0, time.UTC),
		Limits: pdfscan.Limits{MaxRevisions: 16, MaxObjects: 4096, MaxDepth: 32, MaxValues: 1 << 16, MaxChain: 16, MaxStreamSize: 1 << 20}})
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := v.Verify(context.Background(), Input{Data: data})
		if err == nil && rep.Status.MainIndication == "" {
			t.Fatal("report without indication")
		}
	})
}
