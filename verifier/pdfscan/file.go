package pdfscan

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// Limits bound the work done on one file.
type Limits struct {
	MaxRevisions  int   // %%EOF-terminated revisions
	MaxObjects    int   // xref entries per section and object numbers
	MaxDepth      int   // array/dictionary nesting
	MaxValues     int   // values parsed over the whole file
	MaxChain      int   // xref /Prev chain length
	MaxStreamSize int64 // decoded stream bytes
	MaxDecoded    int64 // decoded bytes over the whole file (0: 4 × MaxStreamSize)
}

// DefaultLimits are generous for real documents and small enough to keep
// hostile input cheap.
func DefaultLimits() Limits {
	return Limits{MaxRevisions: 256, MaxObjects: 1 << 20, MaxDepth: 64, MaxValues: 1 << 21, MaxChain: 512, MaxStreamSize: 16 << 20, MaxDecoded: 64 << 20}
}

// EntryType is the type of a cross-reference entry.
type EntryType int

// Cross-reference entry types.
const (
	Free EntryType = iota
	InUse
	Compressed
)

// Entry is one cross-reference entry.
type Entry struct {
	Type   EntryType
	Offset int64 // InUse: byte offset
	Gen    int
	Stream int // Compressed: object stream number
	Index  int // Compressed: index in the object stream
}

// Section is one cross-reference section (table or stream) with its trailer.
type Section struct {
	Offset  int64
	Stream  bool
	Entries map[int]Entry
	Trailer *Dict
	Prev    int64 // -1 when absent
	Hybrid  bool  // a table complemented by an /XRefStm stream
}

// Revision is the file prefix ending at one %%EOF marker.
type Revision struct {
	Index     int
	StartXref int64 // value after "startxref"
	EOF       int64 // offset of "%%EOF"
	End       int64 // offset after "%%EOF" and its end-of-line
	Section   *Section
	// Chain is the xref sections visible from this revision, newest first.
	Chain []*Section
}

// File is a scanned PDF.
type File struct {
	Data      []byte
	Revisions []*Revision
	// Trailing reports bytes after the last revision that are not white space.
	Trailing bool
	lim      Limits
	sections map[int64]*Section
	secErrs  map[int64]error
	objCache map[int64]cached
	objStm   map[int64]*objStream
	decoded  int64
	values   int // parse budget left
	entries  int // xref entries over all sections
	// streamEntries is the budget of entries left for xref streams.
	streamEntries int
}

// addEntry counts one more cross-reference entry against the file's bound.
func (f *File) addEntry() error {
	f.entries++
	if f.entries > 2*f.lim.MaxObjects {
		return fmt.Errorf("more than %d cross-reference entries in the file", 2*f.lim.MaxObjects)
	}
	return nil
}

type cached struct {
	num int
	o   Object
}

type objStream struct {
	data    []byte
	offsets map[int]int // object number -> offset (relative to First)
	order   []int
	first   int
}

// ErrNotPDF is returned when no usable revision is found.
var ErrNotPDF = errors.New("not a PDF: no %%EOF with a valid startxref")

// Parse scans data for revisions and their cross-reference sections.
func Parse(data []byte, lim Limits) (*File, error) {
	if lim.MaxRevisions == 0 {
		lim = DefaultLimits()
	}
	if lim.MaxDecoded == 0 {
		lim.MaxDecoded = 4 * lim.MaxStreamSize
	}
	if !bytes.HasPrefix(bytes.TrimLeft(data[:min(len(data), 1024)], "\x00\t\n\f\r "), []byte("%PDF-")) {
		return nil, fmt.Errorf("%w: missing %%PDF- header", ErrNotPDF)
	}
	f := &File{Data: data, lim: lim, values: lim.MaxValues, sections: map[int64]*Section{}, secErrs: map[int64]error{}, objCache: map[int64]cached{}, objStm: map[int64]*objStream{}}
	// Cross-reference streams compress well: bound their entries by the
	// file's size so that a small update cannot declare a million objects.
	f.streamEntries = max(4096, len(data)/8)
	marker := []byte("%%EOF")
	from := 0
	for {
		i := bytes.Index(data[from:], marker)
		if i < 0 {
			break
		}
		eof := from + i
		from = eof + len(marker)
		sx, ok := findStartxref(data, eof)
		if !ok {
			continue
		}
		sec, err := f.section(sx)
		if err != nil {
			if f.declaresSection(sx) {
				// A reader would use this revision: refuse rather than
				// validate a different document than it shows.
				return nil, fmt.Errorf("revision ending at %d: %w", eof, err)
			}
			continue
		}
		end := eof + len(marker)
		if end < len(data) && data[end] == '\r' {
			end++
		}
		if end < len(data) && data[end] == '\n' {
			end++
		}
		if len(f.Revisions) >= lim.MaxRevisions {
			return nil, fmt.Errorf("more than %d revisions", lim.MaxRevisions)
		}
		f.Revisions = append(f.Revisions, &Revision{Index: len(f.Revisions), StartXref: sx, EOF: int64(eof), End: int64(end), Section: sec})
	}
	if len(f.Revisions) == 0 {
		return nil, ErrNotPDF
	}
	for _, r := range f.Revisions {
		chain, err := f.chain(r.Section)
		if err != nil {
			return nil, fmt.Errorf("revision %d: %w", r.Index+1, err)
		}
		r.Chain = chain
	}
	last := f.Revisions[len(f.Revisions)-1]
	for _, c := range data[last.End:] {
		if !isWhite(c) {
			f.Trailing = true
			break
		}
	}
	return f, nil
}

// findStartxref looks back from a %%EOF for "startxref N".
func findStartxref(data []byte, eof int) (int64, bool) {
	lo := max(0, eof-1024)
	j := bytes.LastIndex(data[lo:eof], []byte("startxref"))
	if j < 0 {
		return 0, false
	}
	budget := 4
	p := &parser{data: data[:eof], pos: lo + j + len("startxref"), budget: &budget, maxDep: 1}
	p.skipWS()
	tok := p.regular()
	p.skipWS()
	if p.pos != eof {
		return 0, false
	}
	n, err := strconv.ParseInt(string(tok), 10, 64)
	if err != nil || n < 0 || n >= int64(eof) {
		return 0, false
	}
	return n, true
}

func (f *File) chain(s *Section) ([]*Section, error) {
	var out []*Section
	seen := map[int64]bool{}
	for s != nil {
		if seen[s.Offset] {
			return nil, fmt.Errorf("xref /Prev loop at offset %d", s.Offset)
		}
		seen[s.Offset] = true
		out = append(out, s)
		if len(out) > f.lim.MaxChain {
			return nil, fmt.Errorf("xref chain longer than %d", f.lim.MaxChain)
		}
		if s.Prev < 0 {
			break
		}
		next, err := f.section(s.Prev)
		if err != nil {
			return nil, fmt.Errorf("xref /Prev %d: %w", s.Prev, err)
		}
		s = next
	}
	return out, nil
}

// section parses the cross-reference section at off (cached).
func (f *File) section(off int64) (*Section, error) {
	if s, ok := f.sections[off]; ok {
		if s == nil {
			if err := f.secErrs[off]; err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("xref section at %d refers to itself", off)
		}
		return s, nil
	}
	f.sections[off] = nil // guards recursion through /XRefStm and /Length
	s, err := f.readSection(off)
	if err != nil {
		f.secErrs[off] = err
		return nil, err
	}
	f.sections[off] = s
	return s, nil
}

func (f *File) readSection(off int64) (*Section, error) {
	if off < 0 || off >= int64(len(f.Data)) {
		return nil, fmt.Errorf("xref offset %d outside the file", off)
	}
	// Readers accept white space before the section an offset points at.
	at := off
	for at < int64(len(f.Data)) && at-off < 64 && isWhite(f.Data[at]) {
		at++
	}
	if bytes.HasPrefix(f.Data[at:], []byte("xref")) {
		return f.table(at)
	}
	return f.xrefStream(at)
}

// declaresSection reports whether off (after white space) holds "xref" or
// an indirect object header: a section a reader would use.
func (f *File) declaresSection(off int64) bool {
	if off <= 0 || off >= int64(len(f.Data)) {
		return false
	}
	p := f.newParser(off)
	p.skipWS()
	if bytes.HasPrefix(f.Data[p.pos:], []byte("xref")) {
		return true
	}
	_, err1 := strconv.Atoi(string(p.regular()))
	p.skipWS()
	_, err2 := strconv.Atoi(string(p.regular()))
	p.skipWS()
	return err1 == nil && err2 == nil && string(p.regular()) == "obj"
}

func (f *File) newParser(pos int64) *parser {
	return &parser{data: f.Data, pos: int(pos), budget: &f.values, maxDep: f.lim.MaxDepth}
}

func (f *File) table(off int64) (*Section, error) {
	p := f.newParser(off + 4)
	s := &Section{Offset: off, Entries: map[int]Entry{}, Prev: -1}
	for {
		p.skipWS()
		if bytes.HasPrefix(f.Data[p.pos:], []byte("trailer")) {
			p.pos += len("trailer")
			break
		}
		start, err1 := strconv.Atoi(string(p.regular()))
		p.skipWS()
		count, err2 := strconv.Atoi(string(p.regular()))
		if err1 != nil || err2 != nil || start < 0 || count < 0 || start > f.lim.MaxObjects || count > f.lim.MaxObjects-len(s.Entries) {
			return nil, p.errorf("bad xref subsection header")
		}
		for i := 0; i < count; i++ {
			p.skipWS()
			o, errA := strconv.ParseInt(string(p.regular()), 10, 64)
			p.skipWS()
			g, errB := strconv.Atoi(string(p.regular()))
			p.skipWS()
			t := p.regular()
			if errA != nil || errB != nil || len(t) != 1 || (t[0] != 'n' && t[0] != 'f') {
				return nil, p.errorf("bad xref entry")
			}
			e := Entry{Type: Free, Gen: g}
			if t[0] == 'n' {
				e = Entry{Type: InUse, Offset: o, Gen: g}
			}
			if _, dup := s.Entries[start+i]; !dup {
				if err := f.addEntry(); err != nil {
					return nil, err
				}
				s.Entries[start+i] = e
			}
		}
	}
	tr, err := p.value()
	if err != nil || tr.Kind != Dictionary {
		return nil, fmt.Errorf("bad trailer after xref at %d", off)
	}
	s.Trailer = tr.Dict
	if prev := tr.Dict.Get("Prev"); prev.Kind == Int {
		s.Prev = prev.Int
	}
	// Hybrid files (ISO 32000-1 §7.5.8.4): a reader looks an object up in
	// the table, then in the /XRefStm stream, then along /Prev; the stream's
	// entries complement the table's (compressed objects are free or absent
	// there). A stream that cannot be read makes the section unreadable: a
	// reader would apply it.
	if xs := tr.Dict.Get("XRefStm"); xs.Kind != Null {
		if xs.Kind != Int {
			return nil, fmt.Errorf("xref at %d: /XRefStm is not an offset", off)
		}
		hs, err := f.xrefStream(xs.Int)
		if err != nil {
			return nil, fmt.Errorf("xref at %d: /XRefStm: %w", off, err)
		}
		for k, v := range hs.Entries {
			if _, ok := s.Entries[k]; !ok || s.Entries[k].Type == Free {
				s.Entries[k] = v
			}
		}
		s.Hybrid = true
	}
	return s, nil
}

func (f *File) xrefStream(off int64) (*Section, error) {
	num, obj, err := f.parseIndirectAt(off, nil)
	if err != nil {
		return nil, err
	}
	_ = num
	if obj.Kind != Stream || obj.Dict.Name("Type") != "XRef" {
		return nil, fmt.Errorf("no xref at offset %d", off)
	}
	d := obj.Dict
	w := d.Get("W")
	if w.Kind != Array || len(w.Array) != 3 {
		return nil, fmt.Errorf("xref stream at %d: bad /W", off)
	}
	var ws [3]int
	for i, v := range w.Array {
		if v.Kind != Int || v.Int < 0 || v.Int > 8 {
			return nil, fmt.Errorf("xref stream at %d: bad /W", off)
		}
		ws[i] = int(v.Int)
	}
	size := d.Get("Size")
	if size.Kind != Int || size.Int < 0 || size.Int > int64(f.lim.MaxObjects) {
		return nil, fmt.Errorf("xref stream at %d: bad /Size", off)
	}
	index := []int64{0, size.Int}
	if ix := d.Get("Index"); ix.Kind == Array {
		index = index[:0]
		for _, v := range ix.Array {
			if v.Kind != Int || v.Int < 0 || v.Int > int64(f.lim.MaxObjects) {
				return nil, fmt.Errorf("xref stream at %d: bad /Index", off)
			}
			index = append(index, v.Int)
		}
		if len(index)%2 != 0 {
			return nil, fmt.Errorf("xref stream at %d: bad /Index", off)
		}
	}
	rowLen := ws[0] + ws[1] + ws[2]
	if rowLen == 0 {
		return nil, fmt.Errorf("xref stream at %d: empty rows", off)
	}
	var total int64
	for i := 1; i < len(index); i += 2 {
		total += index[i]
	}
	if total > int64(f.streamEntries) {
		return nil, fmt.Errorf("xref stream at %d: %d entries declared, more than a file of %d bytes can define", off, total, len(f.Data))
	}
	// Decode no more than the declared rows need (a predictor adds a byte
	// per row).
	raw, err := f.decodeLimit(obj, total*int64(rowLen+1)+1024)
	if err != nil {
		return nil, fmt.Errorf("xref stream at %d: %w", off, err)
	}
	s := &Section{Offset: off, Stream: true, Entries: map[int]Entry{}, Trailer: d, Prev: -1}
	if prev := d.Get("Prev"); prev.Kind == Int {
		s.Prev = prev.Int
	}
	pos := 0
	field := func(b []byte, def int64) int64 {
		if len(b) == 0 {
			return def
		}
		var v int64
		for _, c := range b {
			v = v<<8 | int64(c)
		}
		return v
	}
	for i := 0; i+1 < len(index); i += 2 {
		start, count := index[i], index[i+1]
		if count > int64(f.lim.MaxObjects-len(s.Entries)) {
			return nil, fmt.Errorf("xref stream at %d: too many entries", off)
		}
		for j := int64(0); j < count; j++ {
			if pos+rowLen > len(raw) {
				return nil, fmt.Errorf("xref stream at %d: data too short", off)
			}
			row := raw[pos : pos+rowLen]
			pos += rowLen
			t := field(row[:ws[0]], 1)
			a := field(row[ws[0]:ws[0]+ws[1]], 0)
			b := field(row[ws[0]+ws[1]:], 0)
			n := int(start + j)
			if _, dup := s.Entries[n]; dup {
				continue
			}
			if err := f.addEntry(); err != nil {
				return nil, err
			}
			f.streamEntries--
			if f.streamEntries < 0 {
				return nil, fmt.Errorf("xref stream at %d: more cross-reference stream entries than a file of %d bytes can define", off, len(f.Data))
			}
			switch t {
			case 0:
				s.Entries[n] = Entry{Type: Free, Gen: int(b & 0xffff)}
			case 1:
				s.Entries[n] = Entry{Type: InUse, Offset: a, Gen: int(b & 0xffff)}
			case 2:
				if a < 0 || a > int64(f.lim.MaxObjects) || b < 0 || b > int64(f.lim.MaxObjects) {
					continue
				}
				s.Entries[n] = Entry{Type: Compressed, Stream: int(a), Index: int(b)}
			}
		}
	}
	return s, nil
}

// Lookup finds the entry for object num as seen from revision rev, and the
// section defining it.
func (f *File) Lookup(rev, num int) (Entry, *Section, bool) {
	if rev < 0 || rev >= len(f.Revisions) {
		return Entry{}, nil, false
	}
	for _, s := range f.Revisions[rev].Chain {
		if e, ok := s.Entries[num]; ok {
			if e.Type == Free {
				return e, s, false
			}
			return e, s, true
		}
	}
	return Entry{}, nil, false
}

// Get returns object num as seen from revision rev (Null when absent).
func (f *File) Get(rev, num int) (Object, error) {
	e, _, ok := f.Lookup(rev, num)
	if !ok {
		return Object{}, nil
	}
	return f.load(rev, num, e, 0)
}

func (f *File) load(rev, num int, e Entry, depth int) (Object, error) {
	switch e.Type {
	case InUse:
		n, o, err := f.parseIndirectAt(e.Offset, &lengthCtx{f: f, rev: rev, depth: depth})
		if err != nil {
			return Object{}, err
		}
		if n != num {
			return Object{}, fmt.Errorf("object %d: offset %d holds object %d", num, e.Offset, n)
		}
		return o, nil
	case Compressed:
		if depth > 0 {
			return Object{}, fmt.Errorf("object stream inside object stream")
		}
		se, _, ok := f.Lookup(rev, e.Stream)
		if !ok || se.Type != InUse {
			return Object{}, fmt.Errorf("object %d: object stream %d missing", num, e.Stream)
		}
		os, err := f.objStream(rev, e.Stream, se)
		if err != nil {
			return Object{}, err
		}
		off, ok := os.offsets[num]
		if !ok {
			return Object{}, fmt.Errorf("object %d not in object stream %d", num, e.Stream)
		}
		p := &parser{data: os.data, pos: os.first + off, budget: &f.values, maxDep: f.lim.MaxDepth}
		if p.pos < 0 || p.pos >= len(os.data) {
			return Object{}, fmt.Errorf("object %d: bad offset in object stream", num)
		}
		v, err := p.value()
		if err != nil {
			return Object{}, err
		}
		// Positions inside decoded object streams are not file positions.
		v.Pos, v.End = -1, -1
		return v, nil
	}
	return Object{}, nil
}

func (f *File) objStream(rev, num int, e Entry) (*objStream, error) {
	if os, ok := f.objStm[e.Offset]; ok {
		if os == nil {
			return nil, fmt.Errorf("bad object stream %d", num)
		}
		return os, nil
	}
	f.objStm[e.Offset] = nil
	o, err := f.load(rev, num, e, 1)
	if err != nil {
		return nil, err
	}
	if o.Kind != Stream || o.Dict.Name("Type") != "ObjStm" {
		return nil, fmt.Errorf("object %d is not an object stream", num)
	}
	n, first := o.Dict.Get("N"), o.Dict.Get("First")
	if n.Kind != Int || first.Kind != Int || n.Int < 0 || n.Int > int64(f.lim.MaxObjects) || first.Int < 0 {
		return nil, fmt.Errorf("object stream %d: bad /N or /First", num)
	}
	data, err := f.decode(o)
	if err != nil {
		return nil, fmt.Errorf("object stream %d: %w", num, err)
	}
	if first.Int > int64(len(data)) {
		return nil, fmt.Errorf("object stream %d: /First beyond data", num)
	}
	os := &objStream{data: data, offsets: map[int]int{}, first: int(first.Int)}
	p := &parser{data: data[:first.Int], budget: &f.values, maxDep: 1}
	for i := int64(0); i < n.Int; i++ {
		p.skipWS()
		a, err1 := strconv.Atoi(string(p.regular()))
		p.skipWS()
		b, err2 := strconv.Atoi(string(p.regular()))
		if err1 != nil || err2 != nil || b < 0 || b > len(data) {
			break
		}
		if _, dup := os.offsets[a]; !dup {
			os.offsets[a] = b
			os.order = append(os.order, a)
		}
	}
	f.objStm[e.Offset] = os
	return os, nil
}

type lengthCtx struct {
	f     *File
	rev   int
	depth int
}

// parseIndirectAt parses "N G obj value [stream…endstream] endobj" at off.
func (f *File) parseIndirectAt(off int64, lc *lengthCtx) (int, Object, error) {
	if c, ok := f.objCache[off]; ok {
		return c.num, c.o, nil
	}
	if off < 0 || off >= int64(len(f.Data)) {
		return 0, Object{}, fmt.Errorf("object offset %d outside the file", off)
	}
	p := f.newParser(off)
	p.skipWS()
	num, err1 := strconv.Atoi(string(p.regular()))
	p.skipWS()
	_, err2 := strconv.Atoi(string(p.regular()))
	p.skipWS()
	if err1 != nil || err2 != nil || string(p.regular()) != "obj" {
		return 0, Object{}, fmt.Errorf("no object header at offset %d", off)
	}
	v, err := p.value()
	if err != nil {
		return 0, Object{}, err
	}
	p.skipWS()
	if v.Kind == Dictionary && bytes.HasPrefix(f.Data[p.pos:], []byte("stream")) {
		p.pos += len("stream")
		if p.pos < len(f.Data) && f.Data[p.pos] == '\r' {
			p.pos++
		}
		if p.pos < len(f.Data) && f.Data[p.pos] == '\n' {
			p.pos++
		}
		start := int64(p.pos)
		end := int64(-1)
		l := v.Dict.Get("Length")
		if l.Kind == Reference && lc != nil && lc.depth == 0 {
			if e, _, ok := f.Lookup(lc.rev, l.Ref.Num); ok && e.Type == InUse && e.Offset != off {
				if _, lo, err := f.parseIndirectAt(e.Offset, nil); err == nil {
					l = lo
				}
			}
		}
		if l.Kind == Int && l.Int >= 0 && start+l.Int <= int64(len(f.Data)) {
			q := f.newParser(start + l.Int)
			q.skipWS()
			if bytes.HasPrefix(f.Data[q.pos:], []byte("endstream")) {
				end = start + l.Int
			}
		}
		if end < 0 {
			i := bytes.Index(f.Data[start:], []byte("endstream"))
			if i < 0 {
				return 0, Object{}, fmt.Errorf("unterminated stream at offset %d", off)
			}
			end = start + int64(i)
			for end > start && (f.Data[end-1] == '\n' || f.Data[end-1] == '\r') {
				end--
			}
		}
		v = Object{Kind: Stream, Dict: v.Dict, StreamStart: start, StreamEnd: end, Pos: v.Pos, End: end}
	}
	if len(f.objCache) < f.lim.MaxObjects {
		f.objCache[off] = cached{num: num, o: v}
	}
	return num, v, nil
}

// Raw returns the undecoded stream bytes.
func (f *File) Raw(o Object) []byte {
	if o.Kind != Stream || o.StreamStart < 0 || o.StreamEnd > int64(len(f.Data)) || o.StreamStart > o.StreamEnd {
		return nil
	}
	return f.Data[o.StreamStart:o.StreamEnd]
}

// Resolve follows a reference (one level at a time, up to a bound) as seen
// from revision rev.
func (f *File) Resolve(rev int, o Object) (Object, error) {
	for i := 0; o.Kind == Reference; i++ {
		if i > 16 {
			return Object{}, fmt.Errorf("reference chain too long")
		}
		n, err := f.Get(rev, o.Ref.Num)
		if err != nil {
			return Object{}, err
		}
		o = n
	}
	return o, nil
}

// ResolveDict resolves o and returns its dictionary (nil when o is not a
// dictionary or stream).
func (f *File) ResolveDict(rev int, o Object) *Dict {
	r, err := f.Resolve(rev, o)
	if err != nil || (r.Kind != Dictionary && r.Kind != Stream) {
		return nil
	}
	return r.Dict
}

// Trailer returns the trailer dictionary of revision rev.
func (f *File) Trailer(rev int) *Dict { return f.Revisions[rev].Section.Trailer }

// Root returns the catalog of revision rev.
func (f *File) Root(rev int) *Dict { return f.ResolveDict(rev, f.Trailer(rev).Get("Root")) }

// Introduced lists the in-use object numbers whose entries revision rev's
// own xref section defines, with the number of the revision that defined
// each object before (-1 for new objects).
func (f *File) Introduced(rev int) map[int]int {
	out := map[int]int{}
	r := f.Revisions[rev]
	for num, e := range r.Section.Entries {
		if e.Type == Free {
			continue
		}
		if r.Section.Stream && num == 0 {
			continue
		}
		prior := -1
		if rev > 0 {
			if _, _, ok := f.Lookup(rev-1, num); ok {
				prior = rev - 1
			}
		}
		out[num] = prior
	}
	return out
}
