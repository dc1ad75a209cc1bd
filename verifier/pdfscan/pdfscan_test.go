package pdfscan

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"strings"
	"testing"
)

func flate(b []byte) []byte {
	var out bytes.Buffer
	w := zlib.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

// compressedPDF builds a PDF whose catalog and page tree sit in an object
// stream, indexed by a PNG-predicted cross-reference stream.
func compressedPDF(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	objs := "<< /Type /Catalog /Pages 2 0 R >> << /Type /Pages /Kids [] /Count 0 >>"
	header := "1 0 2 34 "
	payload := header + objs
	stm := flate([]byte(payload))
	off3 := b.Len()
	fmt.Fprintf(&b, "3 0 obj\n<< /Type /ObjStm /N 2 /First %d /Filter /FlateDecode /Length %d >>\nstream\n", len(header), len(stm))
	b.Write(stm)
	b.WriteString("\nendstream\nendobj\n")
	off4 := b.Len()
	rows := [][4]byte{
		{0, 0, 0, 0},
		{2, 0, 3, 0},
		{2, 0, 3, 1},
		{1, byte(off3 >> 8), byte(off3), 0},
		{1, byte(off4 >> 8), byte(off4), 0},
	}
	var raw []byte
	prev := [4]byte{}
	for _, r := range rows {
		raw = append(raw, 2) // PNG Up
		for i := range r {
			raw = append(raw, r[i]-prev[i])
		}
		prev = r
	}
	xs := flate(raw)
	fmt.Fprintf(&b, "4 0 obj\n<< /Type /XRef /Size 5 /W [1 2 1] /Root 1 0 R /Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 4 >> /Length %d >>\nstream\n", len(xs))
	b.Write(xs)
	fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", off4)
	return b.Bytes()
}

func TestXrefAndObjectStreams(t *testing.T) {
	f, err := Parse(compressedPDF(t), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Revisions) != 1 || !f.Revisions[0].Section.Stream {
		t.Fatalf("revisions: %+v", f.Revisions)
	}
	root := f.Root(0)
	if root.Name("Type") != "Catalog" {
		t.Fatalf("catalog: %+v", root)
	}
	pages := f.ResolveDict(0, root.Get("Pages"))
	if pages.Name("Type") != "Pages" || pages.Get("Count").Int != 0 {
		t.Fatalf("pages: %+v", pages)
	}
}

func minimal(extra string) string {
	var b strings.Builder
	b.WriteString("%PDF-1.7\n")
	o1 := b.Len()
	fmt.Fprintf(&b, "1 0 obj\n<< /Type /Catalog %s>>\nendobj\n", extra)
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 2\n0000000000 65535 f \n%010d 00000 n \ntrailer\n<< /Size 2 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", o1, x)
	return b.String()
}

func TestRevisionsAndOverrides(t *testing.T) {
	base := minimal("")
	var b strings.Builder
	b.WriteString(base)
	o := b.Len()
	b.WriteString("1 0 obj\n<< /Type /Catalog /Changed true >>\nendobj\n")
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 1\n0000000000 65535 f \n1 1\n%010d 00000 n \ntrailer\n<< /Size 2 /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n", o, strings.Index(base, "xref"), x)
	f, err := Parse([]byte(b.String()), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Revisions) != 2 || f.Revisions[0].End != int64(len(base)) {
		t.Fatalf("revisions: %d, first ends at %d, want %d", len(f.Revisions), f.Revisions[0].End, len(base))
	}
	if f.Root(0).Has("Changed") || !f.Root(1).Has("Changed") {
		t.Fatal("revision views mixed up")
	}
	if intro := f.Introduced(1); len(intro) != 1 || intro[1] != 0 {
		t.Fatalf("introduced: %v", intro)
	}
	if f.Trailing {
		t.Fatal("no trailing data expected")
	}
}

func TestHostile(t *testing.T) {
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	loop := minimal("")
	loop = strings.Replace(loop, "/Size 2 /Root 1 0 R", fmt.Sprintf("/Size 2 /Root 1 0 R /Prev %d", strings.Index(loop, "xref")), 1)
	for _, tc := range []struct {
		name string
		data string
		ok   bool
	}{
		{"not pdf", "hello", false},
		{"no eof", "%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", false},
		{"startxref outside", "%PDF-1.7\nstartxref\n999999\n%%EOF", false},
		{"prev loop", loop, false},
		{"deep nesting", minimal("/A " + deep + " "), true},
		{"duplicate keys", minimal("/Contents <00> /Contents <01> "), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse([]byte(tc.data), DefaultLimits())
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v", err)
			}
			if f == nil {
				return
			}
			root, err := f.Get(0, 1)
			switch tc.name {
			case "deep nesting":
				if err == nil {
					t.Fatal("nesting beyond the limit accepted")
				}
			case "duplicate keys":
				// The last value, as renderers read it, and the repetition.
				if err != nil || len(root.Dict.Duplicates) != 1 || root.Dict.Get("Contents").Str != "\x01" || Duplicated(root) != "Contents" {
					t.Fatalf("duplicates: %v %+v", err, root.Dict)
				}
			}
		})
	}
}

func TestPositions(t *testing.T) {
	src := minimal("/Contents <0a0b> ")
	f, err := Parse([]byte(src), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	c := f.Root(0).Get("Contents")
	if got := src[c.Pos:c.End]; got != "<0a0b>" || !c.Hex || c.Str != "\x0a\x0b" {
		t.Fatalf("contents at [%d,%d) = %q", c.Pos, c.End, got)
	}
}
