package pades_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"kyso/signer/pades"
	"kyso/signer/signertest"
)

// FuzzSign feeds arbitrary documents to the signer: it must return an
// error or a document, never panic.
func FuzzSign(f *testing.F) {
	pki := signertest.New(f, signertest.P256, nil)
	f.Add(signertest.PDF(f, signertest.PDFOptions{}))
	f.Add(signertest.PDF(f, signertest.PDFOptions{XRefStream: true, Pages: 2}))
	f.Add([]byte("%PDF-1.7\ntrailer\n<< /Root 1 0 R /Size 2 >>\nstartxref\n0\n%%EOF\n"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = pades.Sign(context.Background(), bytes.NewReader(doc), int64(len(doc)), io.Discard, pades.Options{
				Level: pades.BB, Signer: pki.Leaf.Key, Cert: pki.Leaf.Cert,
				Appearance: &pades.Appearance{Page: 1, Width: 100, Height: 40},
			})
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("signing did not finish: the parser loops on this input")
		}
	})
}

// TestUnterminatedArrayIsRefused guards against a parser loop: the PDF
// library spins forever on an array still open at "endobj".
func TestUnterminatedArrayIsRefused(t *testing.T) {
	pki := signertest.New(t, signertest.P256, nil)
	doc := signertest.PDF(t, signertest.PDFOptions{})
	doc = bytes.Replace(doc, []byte("/MediaBox [0 0 595 842]"), []byte("/MediaBox [0 0 595 842 "), 1)
	done := make(chan error, 1)
	go func() {
		done <- pades.Sign(context.Background(), bytes.NewReader(doc), int64(len(doc)), io.Discard, pades.Options{
			Level: pades.BB, Signer: pki.Leaf.Key, Cert: pki.Leaf.Cert})
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a broken PDF was signed")
		}
	case <-time.After(time.Minute):
		t.Fatal("signing a PDF with an unterminated array did not return")
	}
}
