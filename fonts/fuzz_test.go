package fonts

import (
	"bytes"
	"testing"
)

// Parse and the subsetter never panic on a damaged font file: a
// truncated or altered copy of the regular face.
func FuzzParseAndSubset(f *testing.F) {
	f.Add(uint32(0), byte(0), uint16(36))
	f.Add(uint32(12+16*3+8), byte(0xff), uint16(500))
	f.Add(uint32(len(regularTTF)/2), byte(0x80), uint16(4000))
	f.Fuzz(func(t *testing.T, at uint32, b byte, glyph uint16) {
		ttf := bytes.Clone(regularTTF)
		if int(at) < len(ttf) {
			ttf[at] ^= b
		}
		_, _ = subsetTTF(ttf, map[uint16]bool{glyph: true, 3: true})
		if face, err := Parse(ttf); err == nil {
			s := face.NewSubset()
			s.Hex("Nguyễn Thị Mai")
			_, _ = s.Objects("1 0 R", "2 0 R", "3 0 R", "4 0 R")
		}
	})
}

// Any text, valid UTF-8 or not, maps to glyphs without panicking and
// every glyph used has a ToUnicode entry.
func FuzzSubsetText(f *testing.F) {
	f.Add("Ký bởi: Nguyễn Thị Mai")
	f.Add("\x00\xff\u4e2d\U0001F600")
	face, err := Regular()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s := face.NewSubset()
		hex := s.Hex(text)
		if len(hex) < 2 || (len(hex)-2)%4 != 0 {
			t.Fatalf("hex string %q", hex)
		}
		o, err := s.Objects("1 0 R", "2 0 R", "3 0 R", "4 0 R")
		if err != nil {
			t.Fatal(err)
		}
		if len(o.ToUnicode) == 0 || len(o.FontFile) == 0 {
			t.Fatal("empty font objects")
		}
	})
}
