// Package fonts ships the TrueType fonts Kyso draws PDF text with and turns
// them into PDF fonts.
//
// The fonts are DejaVu Sans and DejaVu Sans Bold (Bitstream Vera licence
// with public-domain DejaVu changes, see LICENSE-DejaVu.txt): they cover
// every Vietnamese letter as a precomposed glyph, so NFC-normalised text
// maps one character to one glyph without shaping.
//
// Page generation uses codeberg.org/go-pdf/fpdf, which subsets the fonts
// itself. Subset and its PDF objects serve the places fpdf cannot reach:
// the visible signature appearances Kyso writes inside incremental
// updates, where the font must be a few self-contained objects. The
// subsetter is our own because no maintained Go library exposes one; it
// keeps glyph IDs (unused glyphs become empty), so the CID-to-glyph map is
// the identity.
package fonts

import (
	_ "embed"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/text/unicode/norm"
)

var (
	//go:embed DejaVuSans.ttf
	regularTTF []byte
	//go:embed DejaVuSans-Bold.ttf
	boldTTF []byte
)

// RegularTTF and BoldTTF return the embedded TrueType files. Callers must
// not modify them.
func RegularTTF() []byte { return regularTTF }

// BoldTTF returns the bold face's TrueType file.
func BoldTTF() []byte { return boldTTF }

// Face is a parsed TrueType font.
type Face struct {
	Name string // PostScript name
	ttf  []byte
	sf   *sfnt.Font
	upem int

	mu                         sync.Mutex
	buf                        sfnt.Buffer
	glyphs                     map[rune]glyph
	ascent, descent, capHeight int
	bbox                       [4]int
}

type glyph struct {
	id      uint16
	advance int // in font units
}

var (
	regularOnce, boldOnce sync.Once
	regularFace, boldFace *Face
	regularErr, boldErr   error
)

// Regular returns the regular face.
func Regular() (*Face, error) {
	regularOnce.Do(func() { regularFace, regularErr = Parse(regularTTF) })
	return regularFace, regularErr
}

// Bold returns the bold face.
func Bold() (*Face, error) {
	boldOnce.Do(func() { boldFace, boldErr = Parse(boldTTF) })
	return boldFace, boldErr
}

// ErrNotTrueType is returned for font files Kyso cannot embed.
var ErrNotTrueType = errors.New("fonts: not a TrueType font with glyf outlines")

// Parse reads a TrueType font.
func Parse(ttf []byte) (*Face, error) {
	sf, err := sfnt.Parse(ttf)
	if err != nil {
		return nil, fmt.Errorf("fonts: %w", err)
	}
	if _, err := tables(ttf); err != nil {
		return nil, err
	}
	f := &Face{ttf: ttf, sf: sf, upem: int(sf.UnitsPerEm()), glyphs: map[rune]glyph{}}
	if f.upem <= 0 {
		return nil, ErrNotTrueType
	}
	f.Name, _ = sf.Name(&f.buf, sfnt.NameIDPostScript)
	if f.Name == "" {
		f.Name = "Font"
	}
	ppem := fixed.I(f.upem)
	m, err := sf.Metrics(&f.buf, ppem, font.HintingNone)
	if err != nil {
		return nil, fmt.Errorf("fonts: metrics: %w", err)
	}
	f.ascent, f.descent, f.capHeight = m.Ascent.Round(), -m.Descent.Round(), m.CapHeight.Round()
	if f.capHeight == 0 {
		f.capHeight = f.ascent
	}
	b, err := sf.Bounds(&f.buf, ppem, font.HintingNone)
	if err != nil {
		return nil, fmt.Errorf("fonts: bounds: %w", err)
	}
	// sfnt's y axis points down.
	f.bbox = [4]int{b.Min.X.Round(), -b.Max.Y.Round(), b.Max.X.Round(), -b.Min.Y.Round()}
	return f, nil
}

// lookup returns the glyph of r (the .notdef glyph 0 when the font has
// none).
func (f *Face) lookup(r rune) glyph {
	f.mu.Lock()
	defer f.mu.Unlock()
	if g, ok := f.glyphs[r]; ok {
		return g
	}
	var g glyph
	if id, err := f.sf.GlyphIndex(&f.buf, r); err == nil {
		g.id = uint16(id)
	}
	if adv, err := f.sf.GlyphAdvance(&f.buf, sfnt.GlyphIndex(g.id), fixed.I(f.upem), font.HintingNone); err == nil {
		g.advance = adv.Round()
	}
	if len(f.glyphs) < 1<<16 {
		f.glyphs[r] = g
	}
	return g
}

// Covers reports whether every character of the NFC form of s has a glyph.
func (f *Face) Covers(s string) bool {
	for _, r := range norm.NFC.String(s) {
		if r >= 0x20 && f.lookup(r).id == 0 {
			return false
		}
	}
	return true
}

// Width returns the advance width of s at size points.
func (f *Face) Width(s string, size float64) float64 {
	units := 0
	for _, r := range norm.NFC.String(s) {
		units += f.lookup(r).advance
	}
	return float64(units) * size / float64(f.upem)
}
