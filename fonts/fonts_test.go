package fonts

import (
	"strings"
	"testing"
)

const vietnamese = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM Độc lập - Tự do - Hạnh phúc Nguyễn Thị Mai ặẳẵẫậểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹđ"

func TestFacesCoverVietnamese(t *testing.T) {
	for name, load := range map[string]func() (*Face, error){"regular": Regular, "bold": Bold} {
		f, err := load()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !f.Covers(vietnamese) || !f.Covers(strings.ToLower(vietnamese)) {
			t.Errorf("%s does not cover Vietnamese", name)
		}
		if f.Covers("\u4e2d") {
			t.Errorf("%s claims to cover a CJK character", name)
		}
		// Decomposed input is normalised to NFC before lookup.
		if !f.Covers("Nguye\u0302\u0303n") {
			t.Errorf("%s: NFD text not normalised", name)
		}
	}
}

func TestSubsetIsSmallValidAndMapsText(t *testing.T) {
	f, err := Regular()
	if err != nil {
		t.Fatal(err)
	}
	s := f.NewSubset()
	hex := s.Hex("Nguyễn Thị Mai\n")
	if len(hex) != 2+4*14 {
		t.Fatalf("hex %q: want 14 glyphs (control characters dropped)", hex)
	}
	objs, err := s.Objects("2 0 R", "3 0 R", "4 0 R", "5 0 R")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs.FontFile) > len(RegularTTF())/4 {
		t.Errorf("subset font file is %d bytes of %d", len(objs.FontFile), len(RegularTTF()))
	}
	for _, want := range []string{"/Type0", "/Identity-H", "+DejaVuSans", "/ToUnicode 5 0 R"} {
		if !strings.Contains(string(objs.Font), want) {
			t.Errorf("Type0 font lacks %q: %s", want, objs.Font)
		}
	}
	keep := map[uint16]bool{}
	for r := range strings.SplitSeq("ễ ị ộ Đ", " ") {
		keep[f.lookup([]rune(r)[0]).id] = true
	}
	ttf, err := subsetTTF(RegularTTF(), keep)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := tables(ttf)
	if err != nil {
		t.Fatalf("subset tables: %v", err)
	}
	offs, err := glyphOffsets(tb)
	if err != nil {
		t.Fatalf("subset loca: %v", err)
	}
	if len(offs)-1 != f.sf.NumGlyphs() {
		t.Errorf("subset has %d glyphs, want the same IDs as the font's %d", len(offs)-1, f.sf.NumGlyphs())
	}
	nonEmpty := 0
	for g := 0; g+1 < len(offs); g++ {
		if offs[g+1] > offs[g] {
			nonEmpty++
		} else if keep[uint16(g)] {
			t.Errorf("glyph %d lost its outline", g)
		}
	}
	// .notdef, the four letters and their composite parts.
	if nonEmpty < 5 || nonEmpty > 20 {
		t.Errorf("subset keeps %d outlines", nonEmpty)
	}
	if checksum(ttf) != 0xB1B0AFBA {
		t.Errorf("font checksum %x", checksum(ttf))
	}
}

func TestParseRejectsOtherFiles(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("OTTO1234567890123"), RegularTTF()[:100]} {
		if _, err := Parse(b); err == nil {
			t.Errorf("Parse(%q...) accepted", b[:min(len(b), 8)])
		}
	}
}
