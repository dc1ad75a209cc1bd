package testdoc

import (
	"os"
	"testing"
)

// TestWriteSmall writes a small two-revision PDF used as a fuzz seed when
// KYSO_WRITE_SEEDS is set.
func TestWriteSmall(t *testing.T) {
	if os.Getenv("KYSO_WRITE_SEEDS") == "" {
		t.Skip("set KYSO_WRITE_SEEDS=1 to rewrite fuzz seeds")
	}
	d := MinimalPDF("seed")
	d = Update(t, d, map[int]string{6: "<< /Type /Sig /ByteRange [0 10 20 30] /Contents <3000> >>", 4: "<< /Length 3 >>\nstream\nabc\nendstream"}, 0)
	if err := os.WriteFile("../../pdfscan/testdata/small.pdf", d, 0o644); err != nil {
		t.Fatal(err)
	}
}
