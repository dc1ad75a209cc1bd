package verifier

import (
	"context"
	"os"
	"runtime"
	"slices"
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

// BenchmarkConformance validates every file of the signed-docs suite
// (../shared/vectors/signed-docs) once per iteration and reports the time
// per file — the slowest and the median — and the most bytes one file
// allocated. The slowest files are logged.
func BenchmarkConformance(b *testing.B) {
	dir, entries := loadConformance(b)
	type sample struct {
		file  string
		d     time.Duration
		alloc uint64
	}
	worst := map[string]sample{}
	var all []time.Duration
	var maxAlloc uint64
	var ms runtime.MemStats
	b.ResetTimer()
	for b.Loop() {
		for _, e := range entries {
			runtime.ReadMemStats(&ms)
			before := ms.TotalAlloc
			start := time.Now()
			_, _ = verifyConformance(dir, e)
			d := time.Since(start)
			runtime.ReadMemStats(&ms)
			alloc := ms.TotalAlloc - before
			all = append(all, d)
			maxAlloc = max(maxAlloc, alloc)
			if w, ok := worst[e.File]; !ok || d > w.d {
				worst[e.File] = sample{e.File, d, max(alloc, w.alloc)}
			}
		}
	}
	b.StopTimer()
	slices.Sort(all)
	b.ReportMetric(float64(all[len(all)-1].Microseconds())/1000, "max-ms/file")
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "median-ms/file")
	b.ReportMetric(float64(maxAlloc)/(1<<20), "max-alloc-MB/file")
	ws := make([]sample, 0, len(worst))
	for _, w := range worst {
		ws = append(ws, w)
	}
	slices.SortFunc(ws, func(a, c sample) int { return int(c.d - a.d) })
	for _, w := range ws[:min(5, len(ws))] {
		b.Logf("%8.2f ms %7.1f MB  %s", float64(w.d.Microseconds())/1000, float64(w.alloc)/(1<<20), w.file)
	}
}
