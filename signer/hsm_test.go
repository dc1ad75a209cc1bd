package signer_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"kyso/cli/signcli"
	"kyso/hsm"
	"kyso/hsm/hsmtest"
	"kyso/signer"
	"kyso/signer/signertest"
)

// hsmPKI certifies a fresh HSM key of type typ.
func hsmPKI(t testing.TB, typ hsm.KeyType) (*hsm.HSM, *signertest.PKI, string) {
	t.Helper()
	h := hsmtest.New(t)
	label := fmt.Sprintf("cred-test-%v", typ)
	k, err := h.GenerateKey(context.Background(), hsm.KeySpec{Label: label, Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	return h, signertest.New(t, signertest.P256, k), label
}

func TestLocalCLIWithHSMKey(t *testing.T) {
	pdfsig := signertest.NeedTool(t, "pdfsig")
	openssl := signertest.NeedTool(t, "openssl")
	h, pki, label := hsmPKI(t, hsm.RSA2048)
	dir := t.TempDir()
	cert := signertest.WritePEM(t, dir, "cert.pem", pki.Leaf.Cert)
	chain := signertest.WritePEM(t, dir, "chain.pem", pki.Issuing.Cert)
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, signertest.PDF(t, signertest.PDFOptions{}), 0o600); err != nil {
		t.Fatal(err)
	}
	deps := signcli.Deps{
		OpenKey: func(ctx context.Context, l string) (crypto.Signer, func(), error) {
			k, err := h.FindKey(ctx, l)
			return k, func() {}, err
		},
		// No revocation source: the command line fetches OCSP and CRLs
		// from the locations in the certificates.
		Deps: signer.Deps{Root: pki.Root.Cert, Stamper: newStamper(t, pki)},
	}
	run := func(args ...string) {
		t.Helper()
		var stderr bytes.Buffer
		if code := signcli.Run(context.Background(), args, deps, os.Stdout, &stderr); code != 0 {
			t.Fatalf("kyso sign %v: %d %s", args, code, stderr.String())
		}
	}
	out := filepath.Join(dir, "out.pdf")
	run("pdf", "--key-label", label, "--cert", cert, "--chain", chain, "--level", "B-LT", "--certify", "--out", out, in)
	nss := signertest.NSSDB(t, pki.Root.Cert)
	res, err := exec.Command(pdfsig, "-nssdir", "sql:"+nss, out).CombinedOutput()
	if err != nil || !bytes.Contains(res, []byte("Signature is Valid")) || !bytes.Contains(res, []byte("Certificate is Trusted")) {
		t.Fatalf("pdfsig: %v\n%s", err, res)
	}
	p7s := filepath.Join(dir, "in.pdf.p7s")
	run("cms", "--key-label", label, "--cert", cert, "--chain", chain, "--level", "B-T", "--out", p7s, in)
	root := signertest.WritePEM(t, dir, "root.pem", pki.Root.Cert)
	if res, err := exec.Command(openssl, "cms", "-verify", "-binary", "-content", in, "-inform", "DER", "-in", p7s, "-CAfile", root,
		"-out", os.DevNull).CombinedOutput(); err != nil {
		t.Fatalf("openssl cms -verify: %v\n%s", err, res)
	}
	// Usage errors.
	var stderr bytes.Buffer
	if code := signcli.Run(context.Background(), []string{"pdf", in}, deps, os.Stdout, &stderr); code != 2 {
		t.Fatalf("no key and no server: exit %d", code)
	}
	if code := signcli.Run(context.Background(), []string{"docx"}, deps, os.Stdout, &stderr); code != 2 {
		t.Fatalf("unknown kind: exit %d", code)
	}
}

func benchmarkSignPDF(b *testing.B, typ hsm.KeyType) {
	_, pki, _ := hsmPKI(b, typ)
	hk := pki.Leaf.Key
	doc := signertest.PDF(b, signertest.PDFOptions{Pages: 3})
	key := signer.Key{Signer: hk, Cert: pki.Leaf.Cert, Chain: pki.Chain()}
	d := sha256.Sum256([]byte("raw"))
	b.Run("raw-hsm-sign", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := hk.Sign(nil, d[:], crypto.SHA256); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pades-B-B", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var out bytes.Buffer
			if err := signer.SignPDF(context.Background(), key, bytes.NewReader(doc), int64(len(doc)), &out, signer.PDFOptions{Level: signer.BB}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSignPDF_RSA2048 compares PAdES B-B signing of a small PDF with
// an HSM RSA-2048 key to the raw HSM signature rate (see also
// hsm.BenchmarkSignRSA2048).
func BenchmarkSignPDF_RSA2048(b *testing.B) { benchmarkSignPDF(b, hsm.RSA2048) }

// BenchmarkSignPDF_P256 is the same with an ECDSA P-256 key.
func BenchmarkSignPDF_P256(b *testing.B) { benchmarkSignPDF(b, hsm.ECP256) }

// BenchmarkSignLargePDF signs a 50 MB PDF from disk at B-LTA and reports
// the peak heap growth while signing, which stays far below the file size.
func BenchmarkSignLargePDF(b *testing.B) {
	_, pki, _ := hsmPKI(b, hsm.ECP256)
	path := signertest.PDFFile(b, signertest.PDFOptions{Pages: 2, Padding: 50 << 20})
	key := signer.Key{Signer: pki.Leaf.Key, Cert: pki.Leaf.Cert, Chain: pki.Chain()}
	deps := signer.Deps{Stamper: newStamper(b, pki), Revocation: pki, Root: pki.Root.Cert}
	var peak uint64
	var size int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		st, _ := in.Stat()
		size = st.Size()
		out, err := os.Create(filepath.Join(b.TempDir(), "out.pdf"))
		if err != nil {
			b.Fatal(err)
		}
		p, err := peakHeap(func() error {
			return signer.SignPDF(context.Background(), key, in, st.Size(), out, signer.PDFOptions{Level: signer.BLTA, Deps: deps})
		})
		in.Close()
		out.Close()
		if err != nil {
			b.Fatal(err)
		}
		if p > peak {
			peak = p
		}
	}
	b.SetBytes(size)
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(size)/(1<<20), "file-MB")
}

// peakHeap runs fn while sampling the heap and returns the largest growth
// over the heap before fn.
func peakHeap(fn func() error) (uint64, error) {
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var mu sync.Mutex
	var peak uint64
	sample := func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		mu.Lock()
		if m.HeapAlloc > base.HeapAlloc && m.HeapAlloc-base.HeapAlloc > peak {
			peak = m.HeapAlloc - base.HeapAlloc
		}
		mu.Unlock()
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case <-tk.C:
				sample()
			}
		}
	}()
	err := fn()
	close(done)
	wg.Wait()
	sample()
	return peak, err
}
