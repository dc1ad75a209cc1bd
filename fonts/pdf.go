package fonts

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"fmt"
	"sort"
	"strings"
	"unicode/utf16"

	"golang.org/x/text/unicode/norm"
)

// Subset collects the glyphs a piece of PDF text uses and writes them as
// a Type0 font (Identity-H encoding, a CIDFontType2 descendant with the
// subset TrueType file embedded, a ToUnicode CMap).
type Subset struct {
	face *Face
	used map[uint16]glyphUse
}

type glyphUse struct {
	r       rune
	advance int
}

// NewSubset starts an empty subset of f.
func (f *Face) NewSubset() *Subset { return &Subset{face: f, used: map[uint16]glyphUse{}} }

// Face returns the subset's face.
func (s *Subset) Face() *Face { return s.face }

// Hex returns the NFC form of text as a PDF hex string of two-byte glyph
// IDs, for the Tj operator with this font, and records the glyphs used.
// Control characters are dropped.
func (s *Subset) Hex(text string) string {
	var b strings.Builder
	b.WriteByte('<')
	for _, r := range norm.NFC.String(text) {
		if r < 0x20 || r == 0x7f {
			continue
		}
		g := s.face.lookup(r)
		if _, ok := s.used[g.id]; !ok {
			s.used[g.id] = glyphUse{r: r, advance: g.advance}
		}
		fmt.Fprintf(&b, "%04X", g.id)
	}
	b.WriteByte('>')
	return b.String()
}

// Objects are the bodies of the PDF objects of a subset font, each ready
// to be written between "N 0 obj" and "endobj". Font is the Type0 font
// that page resources name.
type Objects struct {
	Font, CIDFont, Descriptor, FontFile, ToUnicode []byte
}

// Objects writes the font; the arguments are the references ("12 0 R")
// the other objects will have.
func (s *Subset) Objects(cidFont, descriptor, fontFile, toUnicode string) (*Objects, error) {
	keep := make(map[uint16]bool, len(s.used))
	ids := make([]int, 0, len(s.used))
	for g := range s.used {
		keep[g] = true
		ids = append(ids, int(g))
	}
	sort.Ints(ids)
	ttf, err := subsetTTF(s.face.ttf, keep)
	if err != nil {
		return nil, err
	}
	name := s.tag() + "+" + s.face.Name
	scale := func(v int) int { return v * 1000 / s.face.upem }

	var w strings.Builder
	w.WriteString("[")
	for _, g := range ids {
		fmt.Fprintf(&w, " %d [%d]", g, scale(s.used[uint16(g)].advance))
	}
	w.WriteString(" ]")

	o := &Objects{}
	o.Font = fmt.Appendf(nil, "<< /Type /Font /Subtype /Type0 /BaseFont /%s /Encoding /Identity-H /DescendantFonts [%s] /ToUnicode %s >>",
		name, cidFont, toUnicode)
	o.CIDFont = fmt.Appendf(nil, "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /%s /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor %s /DW %d /W %s /CIDToGIDMap /Identity >>",
		name, descriptor, scale(s.face.upem/2), w.String())
	bb := s.face.bbox
	o.Descriptor = fmt.Appendf(nil, "<< /Type /FontDescriptor /FontName /%s /Flags 32 /FontBBox [%d %d %d %d] /ItalicAngle 0 /Ascent %d /Descent %d /CapHeight %d /StemV 80 /FontFile2 %s >>",
		name, scale(bb[0]), scale(bb[1]), scale(bb[2]), scale(bb[3]), scale(s.face.ascent), -scale(s.face.descent), scale(s.face.capHeight), fontFile)
	if o.FontFile, err = stream(fmt.Sprintf(" /Length1 %d", len(ttf)), ttf); err != nil {
		return nil, err
	}
	if o.ToUnicode, err = stream("", s.cmap(ids)); err != nil {
		return nil, err
	}
	return o, nil
}

// tag is the six-letter subset prefix, derived from the glyphs used.
func (s *Subset) tag() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s", s.face.Name)
	ids := make([]int, 0, len(s.used))
	for g := range s.used {
		ids = append(ids, int(g))
	}
	sort.Ints(ids)
	for _, g := range ids {
		fmt.Fprintf(h, ",%d", g)
	}
	sum := h.Sum(nil)
	t := make([]byte, 6)
	for i := range t {
		t[i] = 'A' + sum[i]%26
	}
	return string(t)
}

// cmap is the ToUnicode CMap mapping each glyph used to its character.
func (s *Subset) cmap(ids []int) []byte {
	var b bytes.Buffer
	b.WriteString("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n" +
		"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n" +
		"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n" +
		"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n")
	for i := 0; i < len(ids); i += 100 {
		chunk := ids[i:min(i+100, len(ids))]
		fmt.Fprintf(&b, "%d beginbfchar\n", len(chunk))
		for _, g := range chunk {
			fmt.Fprintf(&b, "<%04X> <", g)
			for _, u := range utf16.Encode([]rune{s.used[uint16(g)].r}) {
				fmt.Fprintf(&b, "%04X", u)
			}
			b.WriteString(">\n")
		}
		b.WriteString("endbfchar\n")
	}
	b.WriteString("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n")
	return b.Bytes()
}

func stream(dict string, data []byte) ([]byte, error) {
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	if _, err := zw.Write(data); err != nil {
		return nil, fmt.Errorf("fonts: compress: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("fonts: compress: %w", err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "<< /Filter /FlateDecode%s /Length %d >>\nstream\n", dict, z.Len())
	b.Write(z.Bytes())
	b.WriteString("\nendstream")
	return b.Bytes(), nil
}
