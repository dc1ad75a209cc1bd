package pdfincr_test

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"testing"

	"github.com/digitorus/pdf"

	"kyso/signer/pdfincr"
	"kyso/signer/signertest"
	"kyso/verifier/pdfscan"
)

func TestUpdateAppendsReadableRevision(t *testing.T) {
	for _, xs := range []bool{false, true} {
		src := signertest.PDF(t, signertest.PDFOptions{Pages: 2, XRefStream: xs})
		d, err := pdfincr.Open(bytes.NewReader(src), int64(len(src)))
		if err != nil {
			t.Fatal(err)
		}
		u := d.NewUpdate()
		ref := u.Alloc()
		u.Set(ref, pdfincr.StreamBody(" /Type /Test", []byte("hello")))
		var cat bytes.Buffer
		if err := pdfincr.WriteDictExcept(&cat, d.Catalog(), d.Root(), "Test"); err != nil {
			t.Fatal(err)
		}
		cat.WriteString("/Test " + ref.String() + " /Name " + pdfincr.TextString("Hà Nội") + ">>")
		u.Set(d.Root(), cat.Bytes())
		b, err := u.Build()
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if _, err := b.WriteTo(d, &out); err != nil {
			t.Fatal(err)
		}
		r, err := pdf.NewReader(bytes.NewReader(out.Bytes()), int64(out.Len()))
		if err != nil {
			t.Fatalf("xrefstream=%v: %v", xs, err)
		}
		root := r.Trailer().Key("Root")
		if got := root.Key("Name").Text(); got != "Hà Nội" {
			t.Errorf("name %q", got)
		}
		if root.Key("Pages").Key("Count").Int64() != 2 {
			t.Error("page tree lost")
		}
		var data bytes.Buffer
		rc := root.Key("Test").Reader()
		_, _ = data.ReadFrom(rc)
		rc.Close()
		if data.String() != "hello" {
			t.Errorf("stream %q", data.String())
		}
		// The concatenation reads like the written file.
		c := pdfincr.NewConcat(bytes.NewReader(src), int64(len(src)), b.Data)
		all := make([]byte, c.Size())
		if _, err := c.ReadAt(all, 0); err != nil || !bytes.Equal(all, out.Bytes()) {
			t.Fatalf("concat differs: %v", err)
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	ok := signertest.PDF(t, signertest.PDFOptions{})
	for name, doc := range map[string][]byte{
		"empty":              nil,
		"not a pdf":          []byte("hello world"),
		"unterminated array": bytes.Replace(ok, []byte("/MediaBox [0 0 595 842]"), []byte("/MediaBox [0 0 595 842 "), 1),
		"encrypted":          bytes.Replace(ok, []byte("/Root 1 0 R"), []byte("/Root 1 0 R /Encrypt << /Filter /Standard >>"), 1),
		// The parser would allocate a cross-reference table of 2^40
		// entries and take the process down.
		"huge /Size in an xref stream": sizeBomb(),
		"huge trailer /Size":           regexp.MustCompile(`/Size \d+`).ReplaceAll(ok, []byte("/Size 1099511627776")),
	} {
		if _, err := pdfincr.Open(bytes.NewReader(doc), int64(len(doc))); err == nil {
			t.Errorf("%s: opened", name)
		} else if name == "unterminated array" && !errors.Is(err, pdfincr.ErrUnsupported) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestTextString(t *testing.T) {
	if got := pdfincr.TextString("Ab"); got != "<4162>" {
		t.Errorf("ascii: %s", got)
	}
	if got := pdfincr.TextString("Đ"); got != "<FEFF0110>" {
		t.Errorf("utf16: %s", got)
	}
	if got := pdfincr.Name("a b/c"); got != "/a#20b#2Fc" {
		t.Errorf("name: %s", got)
	}
}

func FuzzOpen(f *testing.F) {
	f.Add(signertest.PDF(f, signertest.PDFOptions{}))
	f.Add(signertest.PDF(f, signertest.PDFOptions{XRefStream: true}))
	f.Add([]byte("%PDF-1.4\n1 0 obj [ (a) <41> endobj\ntrailer << /Size 2 /Root 1 0 R >>\nstartxref\n9\n%%EOF"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		d, err := pdfincr.Open(bytes.NewReader(doc), int64(len(doc)))
		if err != nil {
			return
		}
		var b bytes.Buffer
		_ = pdfincr.WriteValue(&b, d.Catalog(), d.Root())
		u := d.NewUpdate()
		u.Set(u.Alloc(), []byte("null"))
		if _, err := u.Build(); err != nil {
			t.Fatal(err)
		}
	})
}

// sizeBomb is a PDF whose cross-reference stream declares 2^40 objects.
func sizeBomb() []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	obj1 := b.Len()
	b.WriteString("1 0 obj\n<< /Type /Catalog >>\nendobj\n")
	xref := b.Len()
	data := []byte{1, byte(obj1 >> 8), byte(obj1), 1, byte(xref >> 8), byte(xref)}
	fmt.Fprintf(&b, "2 0 obj\n<< /Type /XRef /Size 1099511627776 /W [1 2 0] /Index [1 2] /Root 1 0 R /Length %d >>\nstream\n", len(data))
	b.Write(data)
	fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", xref)
	return b.Bytes()
}

// Re-serialising an existing object keeps its parsed value: reals stay
// reals (595.0 is not 595), strings, names, nulls and references stay as
// they were, so validators comparing revisions see no change.
func TestRewritePreservesValues(t *testing.T) {
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.0 842.0] /CropBox [0.5 -1.25 594.5 841.75] /UserUnit 1.0 /Contents 4 0 R" +
			" /Resources << /Font << /F1 5 0 R >> /ProcSet [/PDF /Text] >> /Lit (a\\) b\\n) /Hex <00ff41> /Odd /A#20B /Nil null /T true /F false /Neg -3 /Dec .5 >>",
		"<< /Length 35 >>\nstream\nBT /F1 24 Tf 72 720 Td (Form) Tj ET\nendstream",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	src := b.Bytes()
	d, err := pdfincr.Open(bytes.NewReader(src), int64(len(src)))
	if err != nil {
		t.Fatal(err)
	}
	page := d.Catalog().Key("Pages").Key("Kids").Index(0)
	ref := pdfincr.RefOf(page)
	u := d.NewUpdate()
	var p bytes.Buffer
	if err := pdfincr.WriteDictExcept(&p, page, ref); err != nil {
		t.Fatal(err)
	}
	p.WriteString(">>")
	u.Set(ref, p.Bytes())
	built, err := u.Build()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := built.WriteTo(d, &out); err != nil {
		t.Fatal(err)
	}
	f, err := pdfscan.Parse(out.Bytes(), pdfscan.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	old, err1 := f.Get(0, int(ref.Num))
	nw, err2 := f.Get(1, int(ref.Num))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if !pdfscan.Equal(old, nw) || nw.Dict.Get("MediaBox").Array[2].Kind != pdfscan.Real {
		t.Fatalf("value changed by re-serialisation: %s", pdfscan.ChangedKeys(old.Dict, nw.Dict))
	}
}
