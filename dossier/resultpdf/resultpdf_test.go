package resultpdf_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kyso/dossier/resultpdf"
)

func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required (apt-get install %s)", name, pkg)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

func run(t *testing.T, tool, pkg string, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(needTool(t, tool, pkg), args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s%s", tool, err, out, stderr.Bytes())
	}
	return string(out)
}

func sample() resultpdf.Document {
	return resultpdf.Document{
		ParentAgency: "Thành phố Hà Nội", Agency: "Ủy ban nhân dân quận Ba Đình", Number: "15/KQ-UBND-HN-BD",
		Place: "Hà Nội", Date: time.Date(2026, 12, 3, 20, 30, 0, 0, time.UTC),
		Title: "Kết quả giải quyết thủ tục hành chính", Subject: "Về việc: đăng ký khai sinh",
		Fields: []resultpdf.Field{
			{Label: "Thủ tục", Value: "Đăng ký khai sinh (1.001193)"},
			// Decomposed (NFD) input is normalised to NFC.
			{Label: "Người nộp hồ sơ", Value: "Nguye\u0302\u0303n Thị Mai"},
			{Label: "Số CCCD", Value: "001099008888"},
			{Label: "Kết quả", Value: "Chấp thuận"},
		},
		Paragraphs:     []string{"Hồ sơ đáp ứng đầy đủ điều kiện theo quy định (bản sao) \\ đã kiểm tra."},
		SignerCapacity: "TM. Ủy ban nhân dân", SignerTitle: "Chủ tịch", SignerName: "Trần Văn Bình",
		Recipients: []string{"Bà Nguyễn Thị Mai;", "Lưu: VT."},
		VerifyURL:  "https://kyso.example.vn/verify/r/dos_0123456789abcdef01234567",
	}
}

func write(t *testing.T, pdf []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "result.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("KYSO_TEST_ARTIFACTS"); dir != "" {
		_ = os.MkdirAll(dir, 0o755)
		_ = os.WriteFile(filepath.Join(dir, "resultpdf-sample.pdf"), pdf, 0o644)
	}
	return path
}

// Poppler extracts the exact Vietnamese text of the administrative layout.
func TestRenderExactVietnameseText(t *testing.T) {
	pdf, stamp, err := resultpdf.Render(sample())
	if err != nil {
		t.Fatal(err)
	}
	path := write(t, pdf)
	text := run(t, "pdftotext", "poppler-utils", "-raw", path, "-")
	// Lines wrap where the layout wants; compare word sequences.
	flat := strings.Join(strings.Fields(text), " ")
	for _, want := range []string{resultpdf.NationalTitle, resultpdf.Motto, "THÀNH PHỐ HÀ NỘI", "ỦY BAN NHÂN DÂN QUẬN BA ĐÌNH",
		"Số: 15/KQ-UBND-HN-BD", "Hà Nội, ngày 04 tháng 12 năm 2026", "KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH",
		"Người nộp hồ sơ: Nguyễn Thị Mai", "Số CCCD: 001099008888", "Kết quả: Chấp thuận", "(bản sao) \\ đã kiểm tra",
		"TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Trần Văn Bình", "Nơi nhận:", "- Bà Nguyễn Thị Mai;", "/verify/r/dos_0123456789abcdef01234567"} {
		if !strings.Contains(flat, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Nguye\u0302") {
		t.Error("text is not NFC")
	}
	if stamp.Page != 1 || stamp.Width < 100 || stamp.Height < 50 || stamp.Y < 72 || stamp.X+stamp.Width > 595 {
		t.Errorf("stamp box %+v", stamp)
	}
}

// pdffonts lists both faces embedded, subset and with a ToUnicode map.
func TestRenderFontsEmbeddedSubsetToUnicode(t *testing.T) {
	pdf, _, err := resultpdf.Render(sample())
	if err != nil {
		t.Fatal(err)
	}
	out := run(t, "pdffonts", "poppler-utils", write(t, pdf))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("want two fonts:\n%s", out)
	}
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		if !strings.Contains(f[0], "+DejaVuSans") || f[len(f)-5] != "yes" || f[len(f)-4] != "yes" || f[len(f)-3] != "yes" {
			t.Errorf("font not embedded, subset and with ToUnicode: %q", l)
		}
	}
}

// zbarimg reads the QR code from a poppler rendering of the page.
func TestRenderQRCodeDecodes(t *testing.T) {
	d := sample()
	pdf, _, err := resultpdf.Render(d)
	if err != nil {
		t.Fatal(err)
	}
	path := write(t, pdf)
	png := filepath.Join(t.TempDir(), "page")
	run(t, "pdftoppm", "poppler-utils", "-r", "150", "-png", "-singlefile", path, png)
	out := run(t, "zbarimg", "zbar-tools", "--quiet", "--raw", png+".png")
	if strings.TrimSpace(out) != d.VerifyURL {
		t.Fatalf("QR code says %q, want %q", out, d.VerifyURL)
	}
}

func TestRenderDeterministicAndLongNotesFlow(t *testing.T) {
	d := sample()
	a, _, err := resultpdf.Render(d)
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := resultpdf.Render(d)
	if !bytes.Equal(a, b) {
		t.Fatal("rendering is not deterministic")
	}
	d.Paragraphs = []string{strings.Repeat("Nội dung rất dài của quyết định. ", 400)}
	long, stamp, err := resultpdf.Render(d)
	if err != nil {
		t.Fatal(err)
	}
	if stamp.Page < 2 {
		t.Errorf("stamp on page %d of a long document", stamp.Page)
	}
	text := run(t, "pdftotext", "poppler-utils", "-raw", write(t, long), "-")
	if !strings.Contains(text, "Trần Văn Bình") {
		t.Error("signature block lost on a long document")
	}
}
