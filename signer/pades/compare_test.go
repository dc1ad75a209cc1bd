package pades_test

import (
	"io"
	"os"
	"testing"

	"github.com/digitorus/pdfsign"

	"kyso/signer/signertest"
)

// BenchmarkPdfsignLargePDF measures github.com/digitorus/pdfsign signing
// the same 50 MB file, for comparison with TestLargeFileSignsWithBoundedMemory
// (and signer.BenchmarkSignLargePDF): pdfsign buffers the whole document.
func BenchmarkPdfsignLargePDF(b *testing.B) {
	pki := signertest.New(b, signertest.P256, nil)
	path := signertest.PDFFile(b, signertest.PDFOptions{Pages: 2, Padding: 50 << 20})
	var peak uint64
	for i := 0; i < b.N; i++ {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		st, _ := f.Stat()
		s := &heapSampler{}
		stop := startFromNow(s)
		doc, err := pdfsign.Open(f, st.Size())
		if err != nil {
			b.Fatal(err)
		}
		doc.Sign(pki.Leaf.Key, pki.Leaf.Cert, pki.Chain()...)
		_, err = doc.Write(io.Discard)
		stop()
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		if s.peak > peak {
			peak = s.peak
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}
