package pades_test

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"kyso/signer/pades"
	"kyso/signer/signertest"
)

func TestSecondAndThirdSignaturesKeepEarlierValid(t *testing.T) {
	e := newEnv(t, signertest.P256)
	for _, xs := range []bool{false, true} {
		t.Run(map[bool]string{false: "table", true: "xrefstream"}[xs], func(t *testing.T) {
			doc := signertest.PDF(t, signertest.PDFOptions{Pages: 3, XRefStream: xs})
			levels := []pades.Level{pades.BT, pades.BLT, pades.BLTA}
			// Each signature by a different person: poppler 22.12 reports
			// "Unknown issue" when it validates the same certificate twice
			// in one run, a limitation of pdfsig, not of the file.
			signers := []signertest.Entity{e.pki.Leaf,
				e.pki.NewSigner(t, signertest.RSA2048, nil, "Trần Thị Bình"),
				e.pki.NewSigner(t, signertest.P256, nil, "UBND Phường Hàng Bạc")}
			for i, level := range levels {
				o := e.opts(level)
				o.Signer, o.Cert = signers[i].Key, signers[i].Cert
				if i == 1 {
					o.Appearance = &pades.Appearance{Page: 2, X: 50, Y: 50, Width: 220, Height: 60}
				}
				doc = e.sign(t, doc, o)
				out := e.pdfsigOut(t, doc)
				sigs := signatures(out)
				n := 0
				for _, s := range sigs {
					if strings.Contains(s, "ETSI.CAdES.detached") {
						n++
						mustContain(t, s, "Signature is Valid", "Certificate is Trusted")
					}
				}
				if n != i+1 {
					t.Fatalf("after signature %d: %d CAdES signatures:\n%s", i+1, n, out)
				}
				// B-LT is followed by the DSS revision; B-T and the
				// document time-stamp of B-LTA cover the whole file.
				if level != pades.BLT && !strings.Contains(sigs[len(sigs)-1], "Total document signed") {
					t.Fatalf("last signature does not cover the document:\n%s", out)
				}
			}
		})
	}
}

func TestVisibleAppearanceAndCertification(t *testing.T) {
	e := newEnv(t, signertest.RSA2048)
	o := e.opts(pades.BLT)
	o.Certify = true
	o.Appearance = &pades.Appearance{Page: 1, X: 300, Y: 40, Width: 250, Height: 70}
	signed := e.sign(t, signertest.PDF(t, signertest.PDFOptions{Pages: 1}), o)
	out := e.pdfsigOut(t, signed)
	mustContain(t, out, "Signature is Valid", "Certificate is Trusted")
	e.checkDSS(t, signed)
	for _, want := range []string{"/TransformMethod /DocMDP", "/Perms << /DocMDP", "/Subtype /Form", "/CIDFontType2"} {
		if !bytes.Contains(signed, []byte(want)) {
			t.Errorf("signed PDF lacks %q", want)
		}
	}
	// A certification signature must be the first one.
	o2 := e.opts(pades.BB)
	o2.Certify = true
	var buf bytes.Buffer
	err := pades.Sign(context.Background(), bytes.NewReader(signed), int64(len(signed)), &buf, o2)
	if !errors.Is(err, pades.ErrAlreadySigned) {
		t.Fatalf("second certification: %v", err)
	}
	// P=2 lets a citizen sign the certified e-result afterwards.
	citizen := e.pki.NewSigner(t, signertest.P256, nil, "Lê Thị Cúc")
	o3 := e.opts(pades.BT)
	o3.Signer, o3.Cert = citizen.Key, citizen.Cert
	o3.Appearance = &pades.Appearance{Page: 1, X: 40, Y: 40, Width: 230, Height: 70}
	twice := e.sign(t, signed, o3)
	mustContain(t, e.pdfsigOut(t, twice), "Signature is Valid")
	// Poppler extracts the stamps' Vietnamese text exactly and finds the
	// appearance font embedded, subset and with a ToUnicode map.
	text := e.popplerOut(t, "pdftotext", twice, "-")
	mustContain(t, text, "Ký bởi: Lê Thị Cúc", "Thời gian ký: ", "+07:00", "Lý do: Đồng ý nội dung", "Nơi ký: Hà Nội")
	checkFonts(t, e.popplerOut(t, "pdffonts", twice))
	// P=1 forbids any further signature.
	o4 := e.opts(pades.BB)
	o4.Certify, o4.DocMDPPerm = true, 1
	locked := e.sign(t, signertest.PDF(t, signertest.PDFOptions{}), o4)
	buf.Reset()
	if err := pades.Sign(context.Background(), bytes.NewReader(locked), int64(len(locked)), &buf, e.opts(pades.BB)); !errors.Is(err, pades.ErrNoChanges) {
		t.Fatalf("signing a P=1 document: %v", err)
	}
}

func TestRejectsBadInput(t *testing.T) {
	e := newEnv(t, signertest.P256)
	in := signertest.PDF(t, signertest.PDFOptions{})
	for _, tc := range []struct {
		name string
		src  []byte
		mod  func(*pades.Options)
	}{
		{"not a pdf", []byte("hello"), nil},
		{"truncated", in[:len(in)/2], nil},
		{"bad page", in, func(o *pades.Options) { o.Appearance = &pades.Appearance{Page: 9, Width: 10, Height: 10} }},
		{"bad rect", in, func(o *pades.Options) { o.Appearance = &pades.Appearance{Page: 1} }},
		{"no stamper", in, func(o *pades.Options) { o.Stamper = nil }},
		{"no revocation", in, func(o *pades.Options) { o.Level = pades.BLT; o.Revocation = nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := e.opts(pades.BT)
			if tc.mod != nil {
				tc.mod(&o)
			}
			var out bytes.Buffer
			if err := pades.Sign(context.Background(), bytes.NewReader(tc.src), int64(len(tc.src)), &out, o); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]pades.Level{"B-B": pades.BB, "b-t": pades.BT, "AdES-B-LT": pades.BLT, "PAdES-B-LTA": pades.BLTA} {
		got, err := pades.ParseLevel(in)
		if err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := pades.ParseLevel("B-X"); err == nil {
		t.Error("B-X accepted")
	}
}

// TestLargeFileSignsWithBoundedMemory signs a 50 MB file read from disk and
// checks the heap never held a copy of it.
func TestLargeFileSignsWithBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("large file")
	}
	e := newEnv(t, signertest.P256)
	path := signertest.PDFFile(t, signertest.PDFOptions{Pages: 2, Padding: 50 << 20})
	peak, size := signLargeFile(t, e, path)
	if peak > uint64(size)/4 {
		t.Fatalf("heap grew by %d bytes signing a %d byte file", peak, size)
	}
	t.Logf("heap growth %d bytes for a %d byte file", peak, size)
}

// signLargeFile signs path at B-LTA to a temp file and returns the peak heap
// growth sampled during signing.
func signLargeFile(t testing.TB, e *env, path string) (uint64, int64) {
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	st, _ := in.Stat()
	out, err := os.Create(filepath.Join(t.TempDir(), "out.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	o := e.opts(pades.BLTA)
	o.Hash = crypto.SHA256
	sampler := &heapSampler{base: base.HeapAlloc}
	stop := sampler.start()
	err = pades.Sign(context.Background(), in, st.Size(), out, o)
	stop()
	if err != nil {
		t.Fatal(err)
	}
	return sampler.peak, st.Size()
}

// popplerOut runs a poppler tool on pdf (written to a file) with args
// after the file name.
func (e *env) popplerOut(t *testing.T, tool string, pdf []byte, args ...string) string {
	t.Helper()
	bin := signertest.NeedTool(t, tool)
	path := filepath.Join(e.dir, "poppler.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, append([]string{path}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", tool, err, out)
	}
	return string(out)
}

// checkFonts asserts the fonts Kyso drew with (DejaVu) are listed by
// pdffonts as embedded, subset and with a ToUnicode map (columns emb, sub,
// uni); the test page's own Helvetica is not Kyso's.
func checkFonts(t *testing.T, out string) {
	t.Helper()
	n := 0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.Contains(l, "DejaVu") {
			continue
		}
		n++
		f := strings.Fields(l)
		if len(f) < 7 || f[len(f)-5] != "yes" || f[len(f)-4] != "yes" || f[len(f)-3] != "yes" || !strings.Contains(f[0], "+") {
			t.Errorf("font not embedded, subset and with ToUnicode: %q", l)
		}
	}
	if n == 0 {
		t.Errorf("pdffonts lists no DejaVu font:\n%s", out)
	}
}
