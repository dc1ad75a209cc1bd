package signertest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// PDFOptions shapes a generated test PDF.
type PDFOptions struct {
	Pages int
	// XRefStream writes a cross-reference stream instead of a table.
	XRefStream bool
	// Padding adds an uncompressed stream of this many bytes (an unused
	// image-like payload) to make large files.
	Padding int64
}

// WritePDF writes a small valid PDF with text pages to w.
func WritePDF(w io.Writer, o PDFOptions) error {
	if o.Pages < 1 {
		o.Pages = 1
	}
	bw := bufio.NewWriter(w)
	var off int64
	write := func(s string) {
		n, _ := bw.WriteString(s)
		off += int64(n)
	}
	write("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	// 1 catalog, 2 pages, 3 font, 4 padding, then page i: 5+2i, content 6+2i
	n := 5 + 2*o.Pages
	offsets := make([]int64, n)
	obj := func(num int, body string) {
		offsets[num] = off
		write(fmt.Sprintf("%d 0 obj\n%s\nendobj\n", num, body))
	}
	obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	kids := ""
	for i := 0; i < o.Pages; i++ {
		kids += fmt.Sprintf("%d 0 R ", 5+2*i)
	}
	obj(2, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids, o.Pages))
	obj(3, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	offsets[4] = off
	write(fmt.Sprintf("4 0 obj\n<< /Length %d >>\nstream\n", o.Padding))
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	for left := o.Padding; left > 0; {
		k := int64(len(chunk))
		if left < k {
			k = left
		}
		m, err := bw.Write(chunk[:k])
		if err != nil {
			return err
		}
		off += int64(m)
		left -= k
	}
	write("\nendstream\nendobj\n")
	for i := 0; i < o.Pages; i++ {
		content := fmt.Sprintf("BT /F1 18 Tf 72 720 Td (Kyso test page %d) Tj ET", i+1)
		obj(5+2*i, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", 6+2*i))
		obj(6+2*i, fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
	}
	if o.XRefStream {
		xnum := n
		xoff := off
		var data bytes.Buffer
		for i := 0; i <= n; i++ {
			switch {
			case i == 0:
				data.Write([]byte{0, 0, 0, 0, 0, 0xff, 0xff})
			case i == xnum:
				data.Write([]byte{1, byte(xoff >> 24), byte(xoff >> 16), byte(xoff >> 8), byte(xoff), 0, 0})
			default:
				o := offsets[i]
				data.Write([]byte{1, byte(o >> 24), byte(o >> 16), byte(o >> 8), byte(o), 0, 0})
			}
		}
		write(fmt.Sprintf("%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n", xnum, n+1, data.Len()))
		write(data.String())
		write("\nendstream\nendobj\n")
		write(fmt.Sprintf("startxref\n%d\n%%%%EOF\n", xoff))
	} else {
		xref := off
		write(fmt.Sprintf("xref\n0 %d\n0000000000 65535 f\r\n", n))
		for i := 1; i < n; i++ {
			write(fmt.Sprintf("%010d 00000 n\r\n", offsets[i]))
		}
		write(fmt.Sprintf("trailer\n<< /Size %d /Root 1 0 R /ID [<0123456789ABCDEF0123456789ABCDEF> <0123456789ABCDEF0123456789ABCDEF>] >>\nstartxref\n%d\n%%%%EOF\n", n, xref))
	}
	return bw.Flush()
}

// PDF returns a generated PDF.
func PDF(t testing.TB, o PDFOptions) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WritePDF(&b, o); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// PDFFile writes a generated PDF to a temporary file and returns its path.
func PDFFile(t testing.TB, o PDFOptions) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.pdf")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := WritePDF(f, o); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
