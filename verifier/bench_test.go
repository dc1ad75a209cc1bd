package verifier

import (
	"context"
	"os"
	"testing"
	"time"
)

// BenchmarkVerifyPDF validates the B-LTA fixture offline (two signatures,
// four revisions); docs/s is the throughput `make bench` compares with pdfsig.
func BenchmarkVerifyPDF(b *testing.B) {
	doc, err := os.ReadFile("testdata/lta.pdf")
	if err != nil {
		b.Fatal(err)
	}
	roots, err := LoadCertificates("testdata/root.pem")
	if err != nil {
		b.Fatal(err)
	}
	v := New(Options{Roots: roots, At: time.Date(2026, 1, 15, 8, 0, 0, 0, time.UTC)})
	ctx := context.Background()
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		rep, err := v.Verify(ctx, Input{Data: doc})
		if err != nil || rep.Status.MainIndication != "TOTAL-PASSED" {
			b.Fatalf("verify: %v %+v", err, rep.Status)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "docs/s")
}
