package pdfscan

import (
	"bytes"
	"fmt"
	"strconv"
)

// Kind is the type of a PDF object.
type Kind int

// Object kinds.
const (
	Null Kind = iota
	Bool
	Int
	Real
	Name
	String
	Array
	Dictionary
	Reference
	Stream
)

// Ref names an indirect object.
type Ref struct {
	Num int
	Gen int
}

func (r Ref) String() string { return fmt.Sprintf("%d %d R", r.Num, r.Gen) }

// Object is a parsed PDF value. Pos and End are the byte offsets of the
// value's first byte and of the byte after it in the file.
type Object struct {
	Kind  Kind
	Bool  bool
	Int   int64
	Real  float64
	Str   string // name (without '/') or string bytes
	Hex   bool   // String written as <hex>
	Array []Object
	Dict  *Dict
	Ref   Ref
	// Stream data position (Kind == Stream; Dict holds the stream dictionary).
	StreamStart, StreamEnd int64
	Pos, End               int64
}

// Dict is a PDF dictionary keeping key order and any repeated keys.
type Dict struct {
	Keys       []string
	Vals       map[string]Object
	Duplicates []string
}

// Get returns the value of key (Null when absent).
func (d *Dict) Get(key string) Object {
	if d == nil {
		return Object{}
	}
	return d.Vals[key]
}

// Has reports whether key is present.
func (d *Dict) Has(key string) bool {
	if d == nil {
		return false
	}
	_, ok := d.Vals[key]
	return ok
}

// Name returns the name value of key, or "".
func (d *Dict) Name(key string) string {
	o := d.Get(key)
	if o.Kind == Name {
		return o.Str
	}
	return ""
}

// Duplicated returns the first repeated dictionary key found in o or in
// the direct objects it contains ("" when none).
func Duplicated(o Object) string {
	switch o.Kind {
	case Dictionary, Stream:
		if o.Dict == nil {
			return ""
		}
		if len(o.Dict.Duplicates) > 0 {
			return o.Dict.Duplicates[0]
		}
		for _, k := range o.Dict.Keys {
			if d := Duplicated(o.Dict.Vals[k]); d != "" {
				return d
			}
		}
	case Array:
		for _, x := range o.Array {
			if d := Duplicated(x); d != "" {
				return d
			}
		}
	}
	return ""
}

// IsName reports whether o is the name n.
func (o Object) IsName(n string) bool { return o.Kind == Name && o.Str == n }

// Equal reports whether a and b are the same value (positions ignored;
// streams compare their dictionaries and raw data extents by length only).
func Equal(a, b Object) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case Null:
		return true
	case Bool:
		return a.Bool == b.Bool
	case Int:
		return a.Int == b.Int
	case Real:
		return a.Real == b.Real
	case Name, String:
		return a.Str == b.Str
	case Reference:
		return a.Ref == b.Ref
	case Array:
		if len(a.Array) != len(b.Array) {
			return false
		}
		for i := range a.Array {
			if !Equal(a.Array[i], b.Array[i]) {
				return false
			}
		}
		return true
	case Dictionary, Stream:
		return DictEqual(a.Dict, b.Dict)
	}
	return false
}

// DictEqual compares two dictionaries by value.
func DictEqual(a, b *Dict) bool {
	if a == nil || b == nil {
		return a == b
	}
	if len(a.Vals) != len(b.Vals) {
		return false
	}
	for k, v := range a.Vals {
		w, ok := b.Vals[k]
		if !ok || !Equal(v, w) {
			return false
		}
	}
	return true
}

// ChangedKeys lists the keys whose values differ between a and b.
func ChangedKeys(a, b *Dict) []string {
	var out []string
	seen := map[string]bool{}
	if a != nil {
		for _, k := range a.Keys {
			seen[k] = true
			if !b.Has(k) || !Equal(a.Vals[k], b.Vals[k]) {
				out = append(out, k)
			}
		}
	}
	if b != nil {
		for _, k := range b.Keys {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	return out
}

// parser reads PDF tokens from data. budget, shared by every parser of a
// file, bounds the number of values parsed; depth bounds nesting.
type parser struct {
	data   []byte
	pos    int
	budget *int
	depth  int
	maxDep int
}

func isWhite(c byte) bool {
	return c == 0 || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' '
}

func isDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

func (p *parser) skipWS() {
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if isWhite(c) {
			p.pos++
			continue
		}
		if c == '%' {
			for p.pos < len(p.data) && p.data[p.pos] != '\n' && p.data[p.pos] != '\r' {
				p.pos++
			}
			continue
		}
		return
	}
}

// keyword reads a regular token (number, keyword) without consuming delimiters.
func (p *parser) regular() []byte {
	start := p.pos
	for p.pos < len(p.data) && !isWhite(p.data[p.pos]) && !isDelim(p.data[p.pos]) {
		p.pos++
	}
	return p.data[start:p.pos]
}

var errSyntax = fmt.Errorf("pdf syntax error")

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w at offset %d: %s", errSyntax, p.pos, fmt.Sprintf(format, args...))
}

// value parses one PDF value. Indirect references "N G R" are recognised.
func (p *parser) value() (Object, error) {
	*p.budget--
	if *p.budget < 0 {
		return Object{}, p.errorf("too many values in the file")
	}
	p.skipWS()
	if p.pos >= len(p.data) {
		return Object{}, p.errorf("unexpected end of data")
	}
	start := int64(p.pos)
	c := p.data[p.pos]
	switch {
	case c == '/':
		p.pos++
		n := p.regular()
		return Object{Kind: Name, Str: decodeName(n), Pos: start, End: int64(p.pos)}, nil
	case c == '(':
		s, err := p.literal()
		if err != nil {
			return Object{}, err
		}
		return Object{Kind: String, Str: s, Pos: start, End: int64(p.pos)}, nil
	case c == '<' && p.pos+1 < len(p.data) && p.data[p.pos+1] == '<':
		p.pos += 2
		d, err := p.dict()
		if err != nil {
			return Object{}, err
		}
		return Object{Kind: Dictionary, Dict: d, Pos: start, End: int64(p.pos)}, nil
	case c == '<':
		s, err := p.hexString()
		if err != nil {
			return Object{}, err
		}
		return Object{Kind: String, Str: s, Hex: true, Pos: start, End: int64(p.pos)}, nil
	case c == '[':
		p.pos++
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > p.maxDep {
			return Object{}, p.errorf("nesting too deep")
		}
		var arr []Object
		for {
			p.skipWS()
			if p.pos >= len(p.data) {
				return Object{}, p.errorf("unterminated array")
			}
			if p.data[p.pos] == ']' {
				p.pos++
				return Object{Kind: Array, Array: arr, Pos: start, End: int64(p.pos)}, nil
			}
			v, err := p.value()
			if err != nil {
				return Object{}, err
			}
			arr = append(arr, v)
		}
	case c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9'):
		tok := p.regular()
		if bytes.ContainsRune(tok, '.') {
			f, err := strconv.ParseFloat(string(tok), 64)
			if err != nil {
				return Object{}, p.errorf("bad number %q", tok)
			}
			return Object{Kind: Real, Real: f, Pos: start, End: int64(p.pos)}, nil
		}
		n, err := strconv.ParseInt(string(tok), 10, 64)
		if err != nil {
			return Object{}, p.errorf("bad number %q", tok)
		}
		// Look ahead for "G R".
		save := p.pos
		p.skipWS()
		if n >= 0 && p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
			g := p.regular()
			p.skipWS()
			if p.pos < len(p.data) && p.data[p.pos] == 'R' && (p.pos+1 == len(p.data) || isWhite(p.data[p.pos+1]) || isDelim(p.data[p.pos+1])) {
				gen, err := strconv.Atoi(string(g))
				if err == nil && n <= 1<<31 && gen >= 0 && gen <= 65535 {
					p.pos++
					return Object{Kind: Reference, Ref: Ref{Num: int(n), Gen: gen}, Pos: start, End: int64(p.pos)}, nil
				}
			}
		}
		p.pos = save
		return Object{Kind: Int, Int: n, Pos: start, End: int64(p.pos)}, nil
	default:
		tok := p.regular()
		switch string(tok) {
		case "true":
			return Object{Kind: Bool, Bool: true, Pos: start, End: int64(p.pos)}, nil
		case "false":
			return Object{Kind: Bool, Pos: start, End: int64(p.pos)}, nil
		case "null":
			return Object{Kind: Null, Pos: start, End: int64(p.pos)}, nil
		}
		if len(tok) == 0 {
			p.pos++ // never stall on a stray delimiter
		}
		return Object{}, p.errorf("unexpected token %q", tok)
	}
}

func (p *parser) dict() (*Dict, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > p.maxDep {
		return nil, p.errorf("nesting too deep")
	}
	d := &Dict{Vals: map[string]Object{}}
	for {
		p.skipWS()
		if p.pos >= len(p.data) {
			return nil, p.errorf("unterminated dictionary")
		}
		if p.data[p.pos] == '>' {
			if p.pos+1 < len(p.data) && p.data[p.pos+1] == '>' {
				p.pos += 2
				return d, nil
			}
			return nil, p.errorf("stray '>'")
		}
		if p.data[p.pos] != '/' {
			return nil, p.errorf("dictionary key is not a name")
		}
		k, err := p.value()
		if err != nil {
			return nil, err
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		if _, dup := d.Vals[k.Str]; dup {
			// Renderers (poppler, pdf.js) take the last value: so do we,
			// and remember the repetition, which callers treat as a
			// modification or a format failure.
			d.Duplicates = append(d.Duplicates, k.Str)
			d.Vals[k.Str] = v
			continue
		}
		d.Keys = append(d.Keys, k.Str)
		d.Vals[k.Str] = v
	}
}

func (p *parser) literal() (string, error) {
	p.pos++ // '('
	var b []byte
	depth := 1
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		p.pos++
		switch c {
		case '\\':
			if p.pos >= len(p.data) {
				return "", p.errorf("unterminated string")
			}
			e := p.data[p.pos]
			p.pos++
			switch e {
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case '\r':
				if p.pos < len(p.data) && p.data[p.pos] == '\n' {
					p.pos++
				}
			case '\n':
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for i := 0; i < 2 && p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '7'; i++ {
						v = v*8 + int(p.data[p.pos]-'0')
						p.pos++
					}
					b = append(b, byte(v))
				} else {
					b = append(b, e)
				}
			}
		case '(':
			depth++
			b = append(b, c)
		case ')':
			depth--
			if depth == 0 {
				return string(b), nil
			}
			b = append(b, c)
		default:
			b = append(b, c)
		}
	}
	return "", p.errorf("unterminated string")
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func (p *parser) hexString() (string, error) {
	p.pos++ // '<'
	b := make([]byte, 0, 64)
	var hi byte
	half := false
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		p.pos++
		if c == '>' {
			if half {
				b = append(b, hi<<4)
			}
			return string(b), nil
		}
		if isWhite(c) {
			continue
		}
		v, ok := unhex(c)
		if !ok {
			return "", p.errorf("bad hex digit")
		}
		if half {
			b = append(b, hi<<4|v)
			half = false
		} else {
			hi = v
			half = true
		}
	}
	return "", p.errorf("unterminated hex string")
}

func decodeName(n []byte) string {
	if !bytes.ContainsRune(n, '#') {
		return string(n)
	}
	out := make([]byte, 0, len(n))
	for i := 0; i < len(n); i++ {
		if n[i] == '#' && i+2 < len(n) {
			h, ok1 := unhex(n[i+1])
			l, ok2 := unhex(n[i+2])
			if ok1 && ok2 {
				out = append(out, h<<4|l)
				i += 2
				continue
			}
		}
		out = append(out, n[i])
	}
	return string(out)
}
