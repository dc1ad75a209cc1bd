package fonts

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// table is one entry of a TrueType table directory.
type table struct {
	tag  string
	data []byte
}

// maxGlyphs bounds the glyph count a font may declare.
const maxGlyphs = 65535

// tables reads the table directory of ttf and checks the tables a
// subset needs.
func tables(ttf []byte) (map[string][]byte, error) {
	if len(ttf) < 12 {
		return nil, ErrNotTrueType
	}
	switch binary.BigEndian.Uint32(ttf) {
	case 0x00010000, 0x74727565: // 1.0, "true"
	default:
		return nil, ErrNotTrueType
	}
	n := int(binary.BigEndian.Uint16(ttf[4:]))
	if len(ttf) < 12+16*n {
		return nil, ErrNotTrueType
	}
	out := make(map[string][]byte, n)
	for i := 0; i < n; i++ {
		e := ttf[12+16*i:]
		tag := string(e[:4])
		off, length := binary.BigEndian.Uint32(e[8:]), binary.BigEndian.Uint32(e[12:])
		if uint64(off)+uint64(length) > uint64(len(ttf)) {
			return nil, fmt.Errorf("%w: table %q out of bounds", ErrNotTrueType, tag)
		}
		out[tag] = ttf[off : off+length]
	}
	for _, t := range []string{"head", "hhea", "hmtx", "maxp", "loca", "glyf"} {
		if out[t] == nil {
			return nil, fmt.Errorf("%w: no %q table", ErrNotTrueType, t)
		}
	}
	if len(out["head"]) < 54 || len(out["maxp"]) < 6 {
		return nil, ErrNotTrueType
	}
	return out, nil
}

// glyphOffsets decodes the loca table.
func glyphOffsets(t map[string][]byte) ([]uint32, error) {
	n := int(binary.BigEndian.Uint16(t["maxp"][4:]))
	long := binary.BigEndian.Uint16(t["head"][50:]) == 1
	loca := t["loca"]
	offs := make([]uint32, n+1)
	for i := range offs {
		switch {
		case long && len(loca) >= 4*(i+1):
			offs[i] = binary.BigEndian.Uint32(loca[4*i:])
		case !long && len(loca) >= 2*(i+1):
			offs[i] = 2 * uint32(binary.BigEndian.Uint16(loca[2*i:]))
		default:
			return nil, fmt.Errorf("%w: short loca table", ErrNotTrueType)
		}
		if offs[i] > uint32(len(t["glyf"])) || (i > 0 && offs[i] < offs[i-1]) {
			return nil, fmt.Errorf("%w: bad loca entry %d", ErrNotTrueType, i)
		}
	}
	return offs, nil
}

// components returns the glyphs a composite glyph is made of.
func components(g []byte) []uint16 {
	if len(g) < 10 || int16(binary.BigEndian.Uint16(g)) >= 0 {
		return nil
	}
	var out []uint16
	p := 10
	for p+4 <= len(g) && len(out) < 64 {
		flags := binary.BigEndian.Uint16(g[p:])
		out = append(out, binary.BigEndian.Uint16(g[p+2:]))
		p += 4
		if flags&0x0001 != 0 {
			p += 4
		} else {
			p += 2
		}
		switch {
		case flags&0x0008 != 0:
			p += 2
		case flags&0x0040 != 0:
			p += 4
		case flags&0x0080 != 0:
			p += 8
		}
		if flags&0x0020 == 0 {
			break
		}
	}
	return out
}

// subsetTTF returns a TrueType font holding the outlines of the glyphs in
// keep (plus .notdef and the components of composite glyphs) with every
// glyph ID unchanged; the other glyphs are empty.
func subsetTTF(ttf []byte, keep map[uint16]bool) ([]byte, error) {
	t, err := tables(ttf)
	if err != nil {
		return nil, err
	}
	offs, err := glyphOffsets(t)
	if err != nil {
		return nil, err
	}
	n := len(offs) - 1
	if n < 1 {
		return nil, fmt.Errorf("%w: no glyphs", ErrNotTrueType)
	}
	glyf := t["glyf"]
	want := map[uint16]bool{0: true}
	queue := []uint16{0}
	for g := range keep {
		if int(g) < n && !want[g] {
			want[g] = true
			queue = append(queue, g)
		}
	}
	for len(queue) > 0 && len(want) <= maxGlyphs {
		g := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for _, c := range components(glyf[offs[g]:offs[g+1]]) {
			if int(c) < n && !want[c] {
				want[c] = true
				queue = append(queue, c)
			}
		}
	}
	var newGlyf []byte
	newLoca := make([]byte, 4*(n+1))
	for g := 0; g < n; g++ {
		binary.BigEndian.PutUint32(newLoca[4*g:], uint32(len(newGlyf)))
		if want[uint16(g)] {
			newGlyf = append(newGlyf, glyf[offs[g]:offs[g+1]]...)
			for len(newGlyf)%4 != 0 {
				newGlyf = append(newGlyf, 0)
			}
		}
	}
	binary.BigEndian.PutUint32(newLoca[4*n:], uint32(len(newGlyf)))
	head := append([]byte(nil), t["head"]...)
	binary.BigEndian.PutUint32(head[8:], 0)  // checkSumAdjustment, set below
	binary.BigEndian.PutUint16(head[50:], 1) // long loca offsets

	out := []table{{"head", head}, {"hhea", t["hhea"]}, {"maxp", t["maxp"]}, {"hmtx", t["hmtx"]},
		{"loca", newLoca}, {"glyf", newGlyf}}
	for _, tag := range []string{"cvt ", "fpgm", "prep"} {
		if t[tag] != nil {
			out = append(out, table{tag, t[tag]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].tag < out[j].tag })
	font := writeFont(out)
	// head.checkSumAdjustment makes the whole font sum to 0xB1B0AFBA.
	headOff := 0
	for i, tb := range out {
		if tb.tag == "head" {
			headOff = int(binary.BigEndian.Uint32(font[12+16*i+8:]))
		}
	}
	binary.BigEndian.PutUint32(font[headOff+8:], 0xB1B0AFBA-checksum(font))
	return font, nil
}

func writeFont(ts []table) []byte {
	n := len(ts)
	entrySelector, searchRange := 0, 1
	for searchRange*2 <= n {
		searchRange *= 2
		entrySelector++
	}
	searchRange *= 16
	hdr := make([]byte, 12+16*n)
	binary.BigEndian.PutUint32(hdr, 0x00010000)
	binary.BigEndian.PutUint16(hdr[4:], uint16(n))
	binary.BigEndian.PutUint16(hdr[6:], uint16(searchRange))
	binary.BigEndian.PutUint16(hdr[8:], uint16(entrySelector))
	binary.BigEndian.PutUint16(hdr[10:], uint16(n*16-searchRange))
	off := len(hdr)
	for i, tb := range ts {
		e := hdr[12+16*i:]
		copy(e, tb.tag)
		binary.BigEndian.PutUint32(e[4:], checksum(tb.data))
		binary.BigEndian.PutUint32(e[8:], uint32(off))
		binary.BigEndian.PutUint32(e[12:], uint32(len(tb.data)))
		off += (len(tb.data) + 3) &^ 3
	}
	body := make([]byte, 0, off)
	body = append(body, hdr...)
	for _, tb := range ts {
		body = append(body, tb.data...)
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
	}
	return body
}

func checksum(b []byte) uint32 {
	var sum uint32
	for i := 0; i < len(b); i += 4 {
		var w [4]byte
		copy(w[:], b[i:])
		sum += binary.BigEndian.Uint32(w[:])
	}
	return sum
}
