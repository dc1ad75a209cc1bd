// Package ber converts BER encodings to DER so that encoding/asn1 and
// cryptobyte (which accept DER only) can parse them.
//
// Real eMRTD security objects are sometimes BER: indefinite lengths,
// non-minimal length octets, constructed OCTET STRINGs. ToDER rewrites
// lengths to their minimal definite form and flattens constructed string
// types into primitive ones. It does not reorder SET OF elements: callers
// that verify signatures over a SET need the order the signer used.
package ber

import (
	"errors"
	"fmt"
)

// MaxDepth bounds nesting so hostile input cannot exhaust the stack.
const MaxDepth = 64

// ErrMalformed is returned (wrapped) for input that is not valid BER.
var ErrMalformed = errors.New("ber: malformed encoding")

// ToDER returns the DER form of the single BER element in b. Trailing bytes
// after the element are an error.
func ToDER(b []byte) ([]byte, error) {
	// Most input is already DER: check without copying.
	if rest, ok := isDER(b, 0); ok && len(rest) == 0 {
		return b, nil
	}
	out, rest, err := convert(b, 0)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(rest))
	}
	return out, nil
}

// ToDERPrefix converts the first BER element of b and returns the rest
// unchanged.
func ToDERPrefix(b []byte) (der, rest []byte, err error) {
	return convert(b, 0)
}

type header struct {
	tag         []byte // raw identifier octets
	class       byte
	constructed bool
	number      int
	indefinite  bool
	length      int
}

func parseHeader(b []byte) (h header, rest []byte, err error) {
	if len(b) < 2 {
		return h, nil, fmt.Errorf("%w: truncated header", ErrMalformed)
	}
	i := 0
	first := b[0]
	h.class = first >> 6
	h.constructed = first&0x20 != 0
	i++
	if first&0x1f == 0x1f {
		n := 0
		for {
			if i >= len(b) {
				return h, nil, fmt.Errorf("%w: truncated tag", ErrMalformed)
			}
			c := b[i]
			i++
			if n > 1<<22 {
				return h, nil, fmt.Errorf("%w: tag number too large", ErrMalformed)
			}
			n = n<<7 | int(c&0x7f)
			if c&0x80 == 0 {
				break
			}
		}
		h.number = n
	} else {
		h.number = int(first & 0x1f)
	}
	h.tag = b[:i]
	if i >= len(b) {
		return h, nil, fmt.Errorf("%w: truncated length", ErrMalformed)
	}
	l := b[i]
	i++
	switch {
	case l == 0x80:
		if !h.constructed {
			return h, nil, fmt.Errorf("%w: indefinite length on primitive", ErrMalformed)
		}
		h.indefinite = true
	case l < 0x80:
		h.length = int(l)
	default:
		n := int(l & 0x7f)
		if n > 4 || i+n > len(b) {
			return h, nil, fmt.Errorf("%w: bad length octets", ErrMalformed)
		}
		v := 0
		for _, c := range b[i : i+n] {
			v = v<<8 | int(c)
		}
		i += n
		if v < 0 || v > len(b)-i {
			return h, nil, fmt.Errorf("%w: length %d exceeds input", ErrMalformed, v)
		}
		h.length = v
	}
	if !h.indefinite && h.length > len(b)-i {
		return h, nil, fmt.Errorf("%w: length %d exceeds input", ErrMalformed, h.length)
	}
	return h, b[i:], nil
}

// isString reports universal string types that DER requires primitive.
func isString(h header) bool {
	if h.class != 0 {
		return false
	}
	switch h.number {
	case 4, 12, 18, 19, 20, 21, 22, 25, 26, 27, 28, 30:
		return true
	}
	return false
}

func convert(b []byte, depth int) (out, rest []byte, err error) {
	if depth > MaxDepth {
		return nil, nil, fmt.Errorf("%w: nesting deeper than %d", ErrMalformed, MaxDepth)
	}
	h, body, err := parseHeader(b)
	if err != nil {
		return nil, nil, err
	}
	if !h.constructed {
		content := body[:h.length]
		return appendTLV(nil, h.tag, content), body[h.length:], nil
	}
	var children [][]byte
	var after []byte
	if h.indefinite {
		cur := body
		for {
			if len(cur) >= 2 && cur[0] == 0 && cur[1] == 0 {
				after = cur[2:]
				break
			}
			if len(cur) == 0 {
				return nil, nil, fmt.Errorf("%w: missing end-of-contents", ErrMalformed)
			}
			c, r, err := convert(cur, depth+1)
			if err != nil {
				return nil, nil, err
			}
			children = append(children, c)
			cur = r
		}
	} else {
		cur := body[:h.length]
		after = body[h.length:]
		for len(cur) > 0 {
			c, r, err := convert(cur, depth+1)
			if err != nil {
				return nil, nil, err
			}
			children = append(children, c)
			cur = r
		}
	}
	if isString(h) {
		// Flatten a constructed string: concatenate the contents of its
		// (already flattened, primitive) segments.
		var content []byte
		for _, c := range children {
			ch, cb, err := parseHeader(c)
			if err != nil {
				return nil, nil, err
			}
			if ch.constructed {
				return nil, nil, fmt.Errorf("%w: nested constructed string", ErrMalformed)
			}
			content = append(content, cb[:ch.length]...)
		}
		tag := append([]byte(nil), h.tag...)
		tag[0] &^= 0x20
		return appendTLV(nil, tag, content), after, nil
	}
	var content []byte
	for _, c := range children {
		content = append(content, c...)
	}
	return appendTLV(nil, h.tag, content), after, nil
}

// appendTLV appends tag, minimal definite length and content to dst.
func appendTLV(dst, tag, content []byte) []byte {
	dst = append(dst, tag...)
	dst = AppendLength(dst, len(content))
	return append(dst, content...)
}

// AppendLength appends the minimal DER length octets for n.
func AppendLength(dst []byte, n int) []byte {
	if n < 0x80 {
		return append(dst, byte(n))
	}
	var tmp [8]byte
	i := len(tmp)
	for v := n; v > 0; v >>= 8 {
		i--
		tmp[i] = byte(v)
	}
	dst = append(dst, 0x80|byte(len(tmp)-i))
	return append(dst, tmp[i:]...)
}

// isDER reports whether the first element of b uses only minimal definite
// lengths and primitive strings, and returns what follows it.
func isDER(b []byte, depth int) ([]byte, bool) {
	if depth > MaxDepth {
		return nil, false
	}
	h, body, err := parseHeader(b)
	if err != nil || h.indefinite {
		return nil, false
	}
	// Minimal length encoding: the header must be as short as possible.
	hdrLen := len(b) - len(body)
	if hdrLen != len(h.tag)+len(AppendLength(nil, h.length)) {
		return nil, false
	}
	content, rest := body[:h.length], body[h.length:]
	if !h.constructed {
		return rest, true
	}
	if isString(h) {
		return nil, false
	}
	for len(content) > 0 {
		var ok bool
		if content, ok = isDER(content, depth+1); !ok {
			return nil, false
		}
	}
	return rest, true
}
