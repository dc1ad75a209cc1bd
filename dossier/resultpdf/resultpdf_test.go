package resultpdf_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kyso/dossier/resultpdf"
)

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required (apt-get install poppler-utils)", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// The generated document is a PDF a standard reader extracts the text of,
// with Vietnamese transliterated and PDF string delimiters escaped.
func TestRenderReadable(t *testing.T) {
	tool := needTool(t, "pdftotext")
	pdf := resultpdf.Render(resultpdf.Document{Title: "KẾT QUẢ GIẢI QUYẾT", Lines: []string{
		"Người nộp: Đặng Thị Hương", "Ghi chú (bản sao) \\ đã kiểm tra", "", "Quyết định: APPROVED"}})
	path := filepath.Join(t.TempDir(), "result.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "-layout", path, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	for _, want := range []string{"KET QUA GIAI QUYET", "Nguoi nop: Dang Thi Huong", "Ghi chu (ban sao) \\ da kiem tra", "Quyet dinh: APPROVED"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
}

func TestRenderDeterministicAndBounded(t *testing.T) {
	lines := make([]string, 200)
	for i := range lines {
		lines[i] = "line"
	}
	a := resultpdf.Render(resultpdf.Document{Title: "T", Lines: lines})
	b := resultpdf.Render(resultpdf.Document{Title: "T", Lines: lines})
	if !bytes.Equal(a, b) {
		t.Fatal("rendering is not deterministic")
	}
	if n := bytes.Count(a, []byte("(line) Tj")); n != 47 {
		t.Fatalf("%d lines on the page, want 47 and an ellipsis", n)
	}
}
