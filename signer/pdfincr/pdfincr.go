package pdfincr

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/digitorus/pdf"
)

// Ref is an indirect object reference.
type Ref struct {
	Num uint32
	Gen uint16
}

func (r Ref) String() string { return fmt.Sprintf("%d %d R", r.Num, r.Gen) }

// IsZero reports whether r is unset.
func (r Ref) IsZero() bool { return r.Num == 0 }

// Doc is a PDF opened for appending.
type Doc struct {
	src        io.ReaderAt
	size       int64
	R          *pdf.Reader
	startxref  int64
	xrefStream bool
	nextNum    uint32
	root       Ref
	info       Ref
	id         string
}

// ErrUnsupported reports a PDF we cannot update.
var ErrUnsupported = errors.New("pdfincr: unsupported PDF")

// Open parses the last trailer of the PDF in src.
func Open(src io.ReaderAt, size int64) (d *Doc, err error) {
	defer func() {
		if r := recover(); r != nil {
			d, err = nil, fmt.Errorf("pdfincr: malformed PDF: %v", r)
		}
	}()
	if err := precheck(src, size); err != nil {
		return nil, err
	}
	r, err := pdf.NewReader(src, size)
	if err != nil {
		return nil, fmt.Errorf("pdfincr: read PDF: %w", err)
	}
	tr := r.Trailer()
	if !tr.Key("Encrypt").IsNull() {
		return nil, fmt.Errorf("%w: encrypted documents cannot be signed", ErrUnsupported)
	}
	root := tr.Key("Root")
	if root.Kind() != pdf.Dict {
		return nil, fmt.Errorf("%w: no document catalog", ErrUnsupported)
	}
	n := tr.Key("Size").Int64()
	if n <= 0 || n > maxObjects {
		return nil, fmt.Errorf("%w: bad trailer /Size %d", ErrUnsupported, n)
	}
	d = &Doc{
		src:        src,
		size:       size,
		R:          r,
		startxref:  r.XrefInformation.StartPos,
		xrefStream: r.XrefInformation.Type == "stream",
		nextNum:    uint32(n),
		root:       refOf(root),
	}
	if info := tr.Key("Info"); info.Kind() == pdf.Dict && refOf(info) != refOf(tr) {
		d.info = refOf(info)
	}
	if id := tr.Key("ID"); id.Kind() == pdf.Array {
		var b bytes.Buffer
		if err := WriteValue(&b, id, refOf(tr)); err == nil {
			d.id = b.String()
		}
	}
	return d, nil
}

func refOf(v pdf.Value) Ref {
	p := v.GetPtr()
	return Ref{Num: p.GetID(), Gen: p.GetGen()}
}

// RefOf returns the reference of an indirect value (zero if direct in the
// trailer).
func RefOf(v pdf.Value) Ref { return refOf(v) }

// Size is the length of the document in bytes.
func (d *Doc) Size() int64 { return d.size }

// Source is the document's bytes.
func (d *Doc) Source() io.ReaderAt { return d.src }

// Root is the catalog reference.
func (d *Doc) Root() Ref { return d.root }

// Catalog returns the current document catalog.
func (d *Doc) Catalog() pdf.Value { return d.R.Trailer().Key("Root") }

// Update collects the objects of one incremental update.
type Update struct {
	doc   *Doc
	next  uint32
	objs  map[uint32][]byte
	gens  map[uint32]uint16
	order []uint32
}

// NewUpdate starts an incremental update.
func (d *Doc) NewUpdate() *Update {
	return &Update{doc: d, next: d.nextNum, objs: map[uint32][]byte{}, gens: map[uint32]uint16{}}
}

// Alloc reserves a new object number.
func (u *Update) Alloc() Ref {
	r := Ref{Num: u.next}
	u.next++
	return r
}

// Set sets the body (a serialized object, without "obj"/"endobj") of ref,
// which is either allocated or an existing object being replaced.
func (u *Update) Set(ref Ref, body []byte) {
	if _, ok := u.objs[ref.Num]; !ok {
		u.order = append(u.order, ref.Num)
	}
	u.objs[ref.Num] = body
	u.gens[ref.Num] = ref.Gen
}

// StreamBody serializes a stream object with the given extra dictionary
// entries (without << >>) and data.
func StreamBody(dictEntries string, data []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<<%s /Length %d>>\nstream\n", dictEntries, len(data))
	b.Write(data)
	b.WriteString("\nendstream")
	return b.Bytes()
}

// Built is an update serialized for appending at offset Base.
type Built struct {
	Base    int64
	Data    []byte
	offsets map[uint32]int64 // relative to Data
}

// ObjectOffset returns the position of object num inside Data.
func (b *Built) ObjectOffset(num uint32) (int64, bool) {
	o, ok := b.offsets[num]
	return o, ok
}

// Build serializes the update: objects, cross-reference section, trailer.
func (u *Update) Build() (*Built, error) {
	d := u.doc
	var buf bytes.Buffer
	buf.WriteString("\n")
	offsets := map[uint32]int64{}
	nums := append([]uint32(nil), u.order...)
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	for _, n := range nums {
		offsets[n] = int64(buf.Len())
		fmt.Fprintf(&buf, "%d %d obj\n", n, u.gens[n])
		buf.Write(u.objs[n])
		buf.WriteString("\nendobj\n")
	}
	size := u.next
	var trailer bytes.Buffer
	fmt.Fprintf(&trailer, "/Root %s", d.root)
	if !d.info.IsZero() {
		fmt.Fprintf(&trailer, " /Info %s", d.info)
	}
	if d.id != "" {
		fmt.Fprintf(&trailer, " /ID %s", d.id)
	}
	fmt.Fprintf(&trailer, " /Prev %d", d.startxref)
	if d.xrefStream {
		xnum := size
		size++
		nums = append(nums, xnum)
		offsets[xnum] = int64(buf.Len())
		u.gens[xnum] = 0
		var data bytes.Buffer
		var index bytes.Buffer
		for _, sec := range sections(nums) {
			fmt.Fprintf(&index, " %d %d", sec[0], sec[1])
			for n := sec[0]; n < sec[0]+sec[1]; n++ {
				off := d.size + offsets[n]
				data.WriteByte(1)
				for shift := 32; shift >= 0; shift -= 8 {
					data.WriteByte(byte(off >> uint(shift)))
				}
				g := u.gens[n]
				data.WriteByte(byte(g >> 8))
				data.WriteByte(byte(g))
			}
		}
		fmt.Fprintf(&buf, "%d 0 obj\n", xnum)
		buf.Write(StreamBody(fmt.Sprintf(" /Type /XRef /Size %d /Index [%s] /W [1 5 2] %s", size, index.String()[1:], trailer.String()), data.Bytes()))
		buf.WriteString("\nendobj\n")
		fmt.Fprintf(&buf, "startxref\n%d\n%%%%EOF\n", d.size+offsets[xnum])
	} else {
		xref := int64(buf.Len())
		buf.WriteString("xref\n")
		for _, sec := range sections(nums) {
			fmt.Fprintf(&buf, "%d %d\n", sec[0], sec[1])
			for n := sec[0]; n < sec[0]+sec[1]; n++ {
				fmt.Fprintf(&buf, "%010d %05d n\r\n", d.size+offsets[n], u.gens[n])
			}
		}
		fmt.Fprintf(&buf, "trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n", size, trailer.String(), d.size+xref)
	}
	return &Built{Base: d.size, Data: buf.Bytes(), offsets: offsets}, nil
}

// sections groups sorted object numbers into [first, count] runs.
func sections(nums []uint32) [][2]uint32 {
	var out [][2]uint32
	for _, n := range nums {
		if l := len(out); l > 0 && out[l-1][0]+out[l-1][1] == n {
			out[l-1][1]++
			continue
		}
		out = append(out, [2]uint32{n, 1})
	}
	return out
}

// WriteTo writes the original document followed by the update.
func (b *Built) WriteTo(d *Doc, w io.Writer) (int64, error) {
	n, err := io.Copy(w, io.NewSectionReader(d.src, 0, d.size))
	if err != nil {
		return n, fmt.Errorf("pdfincr: copy original: %w", err)
	}
	m, err := w.Write(b.Data)
	return n + int64(m), err
}

// Concat is an io.ReaderAt over the original document followed by appended
// updates, so a further update can be built without copying the file.
type Concat struct {
	parts []io.ReaderAt
	sizes []int64
	total int64
}

// NewConcat returns the concatenation of d's source and data.
func NewConcat(src io.ReaderAt, size int64, data []byte) *Concat {
	c := &Concat{}
	if cc, ok := src.(*Concat); ok && cc.total == size {
		c.parts = append(c.parts, cc.parts...)
		c.sizes = append(c.sizes, cc.sizes...)
		c.total = cc.total
	} else {
		c.parts = []io.ReaderAt{src}
		c.sizes = []int64{size}
		c.total = size
	}
	c.parts = append(c.parts, bytes.NewReader(data))
	c.sizes = append(c.sizes, int64(len(data)))
	c.total += int64(len(data))
	return c
}

// Size is the total length.
func (c *Concat) Size() int64 { return c.total }

// ReadAt implements io.ReaderAt.
func (c *Concat) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("pdfincr: negative offset")
	}
	n := 0
	start := int64(0)
	for i, part := range c.parts {
		end := start + c.sizes[i]
		if off+int64(n) < end && n < len(p) {
			rel := off + int64(n) - start
			want := p[n:]
			if max := c.sizes[i] - rel; int64(len(want)) > max {
				want = want[:max]
			}
			m, err := part.ReadAt(want, rel)
			n += m
			if err != nil && !(errors.Is(err, io.EOF) && int64(m) == int64(len(want))) {
				return n, err
			}
		}
		start = end
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// WriteValue serializes v; references are written for values that are
// indirect objects other than the container being serialized.
func WriteValue(w *bytes.Buffer, v pdf.Value, container Ref) error {
	if r := refOf(v); !r.IsZero() && r != container {
		w.WriteString(r.String())
		return nil
	}
	switch v.Kind() {
	case pdf.Null:
		w.WriteString("null")
	case pdf.Bool:
		w.WriteString(strconv.FormatBool(v.Bool()))
	case pdf.Integer:
		w.WriteString(strconv.FormatInt(v.Int64(), 10))
	case pdf.Real:
		w.WriteString(Real(v.Float64()))
	case pdf.String:
		w.WriteString(HexString([]byte(v.RawString())))
	case pdf.Name:
		w.WriteString(Name(v.Name()))
	case pdf.Dict:
		w.WriteString("<<")
		for _, k := range v.Keys() {
			w.WriteString(Name(k))
			w.WriteByte(' ')
			if err := WriteValue(w, v.Key(k), container); err != nil {
				return err
			}
			w.WriteByte(' ')
		}
		w.WriteString(">>")
	case pdf.Array:
		w.WriteString("[")
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				w.WriteByte(' ')
			}
			if err := WriteValue(w, v.Index(i), container); err != nil {
				return err
			}
		}
		w.WriteString("]")
	default:
		return fmt.Errorf("%w: cannot serialize a direct %v", ErrUnsupported, v.Kind())
	}
	return nil
}

// Real writes a real number so that it reads back as a real (595.0 stays
// a real, never the integer 595): re-serialising an object must not change
// its parsed value, or validators comparing revisions see a modification.
func Real(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// WriteDictExcept serializes dictionary d (an object with reference self)
// without the keys in skip, leaving the closing ">>" off so callers can
// append entries.
func WriteDictExcept(w *bytes.Buffer, d pdf.Value, self Ref, skip ...string) error {
	w.WriteString("<<")
	for _, k := range d.Keys() {
		skipped := false
		for _, s := range skip {
			if s == k {
				skipped = true
			}
		}
		if skipped {
			continue
		}
		w.WriteString(Name(k))
		w.WriteByte(' ')
		if err := WriteValue(w, d.Key(k), self); err != nil {
			return err
		}
		w.WriteByte(' ')
	}
	return nil
}

// HexString encodes b as a PDF hexadecimal string.
func HexString(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 0, 2*len(b)+2)
	out = append(out, '<')
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(append(out, '>'))
}

// Name encodes a PDF name, escaping delimiters and non-regular bytes.
func Name(s string) string {
	var b bytes.Buffer
	b.WriteByte('/')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || bytes.IndexByte([]byte("#()<>[]{}/%"), c) >= 0 {
			fmt.Fprintf(&b, "#%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// TextString encodes a text string: ASCII as is, anything else as UTF-16BE
// with a byte order mark, both in hexadecimal form.
func TextString(s string) string {
	ascii := true
	for _, r := range s {
		if r > 0x7e || r < 0x20 {
			ascii = false
			break
		}
	}
	if ascii {
		return HexString([]byte(s))
	}
	out := []byte{0xFE, 0xFF}
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			hi, lo := 0xD800+(r>>10), 0xDC00+(r&0x3FF)
			out = append(out, byte(hi>>8), byte(hi), byte(lo>>8), byte(lo))
			continue
		}
		out = append(out, byte(r>>8), byte(r))
	}
	return HexString(out)
}
