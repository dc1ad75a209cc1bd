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
