// Package resultpdf writes the simple one-page result document an agency
// seals when it has no PDF of its own: a title and lines of text in the
// standard Helvetica font, with a classic cross-reference table so that any
// signer can append incremental updates to it.
//
// It is our own because the project has no PDF-generation library and this
// needs about a hundred lines; text outside printable ASCII is transliterated
// (Vietnamese letters lose their diacritics) since the standard fonts carry
// no Vietnamese glyphs.
package resultpdf

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Document is what the page shows.
type Document struct {
	Title string
	Lines []string
}

// maxLines fit on one A4 page at the line height used.
const maxLines = 48

// Render returns the PDF bytes of d.
func Render(d Document) []byte {
	var content bytes.Buffer
	content.WriteString("BT\n/F1 16 Tf\n56 780 Td\n")
	fmt.Fprintf(&content, "(%s) Tj\n", escape(d.Title))
	content.WriteString("/F1 11 Tf\n0 -28 Td\n14 TL\n")
	lines := d.Lines
	if len(lines) > maxLines {
		lines = append(lines[:maxLines-1:maxLines-1], "...")
	}
	for _, l := range lines {
		fmt.Fprintf(&content, "(%s) Tj T*\n", escape(l))
	}
	content.WriteString("ET\n")

	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.String()),
		fmt.Sprintf("<< /Title (%s) /Producer (Kyso) >>", escape(d.Title)),
	}
	var out bytes.Buffer
	out.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&out, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, len(objects), xref)
	return out.Bytes()
}

// escape makes s a safe PDF literal string body: ASCII only, with
// backslash, parentheses and control characters escaped.
func escape(s string) string {
	var b strings.Builder
	for _, r := range ascii(s) {
		switch {
		case r == '\\' || r == '(' || r == ')':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r > 0x7e:
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ascii drops combining marks after canonical decomposition and maps the
// Vietnamese letters that do not decompose.
func ascii(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == 'đ':
			b.WriteByte('d')
		case r == 'Đ':
			b.WriteByte('D')
		case r < 0x80:
			b.WriteRune(r)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}
