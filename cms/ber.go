package cms

import (
	"bytes"
	"fmt"
)

// berToDER re-encodes BER (indefinite lengths, constructed OCTET STRINGs)
// as DER, which encoding/asn1 requires. Some signing tools stream CMS in
// BER; RFC 5652 signs the DER encoding of the signed attributes, so the
// re-encoding keeps signatures verifiable.
func berToDER(b []byte) ([]byte, error) {
	// Each nesting level copies its content once: bound the input so that
	// depth × size stays small.
	if len(b) > maxBER {
		return nil, fmt.Errorf("%w: BER input larger than %d bytes", ErrFormat, maxBER)
	}
	budget := 1 << 16
	out, rest, err := berElement(b, 0, &budget)
	if err != nil {
		return nil, err
	}
	return append(out, rest...), nil
}

// maxBER bounds BER input re-encoded as DER.
const maxBER = 8 << 20

func berHeader(b []byte) (class byte, constructed bool, tag []byte, length int, hdr int, err error) {
	if len(b) < 2 {
		return 0, false, nil, 0, 0, fmt.Errorf("%w: truncated BER", ErrFormat)
	}
	i := 1
	if b[0]&0x1f == 0x1f {
		for i < len(b) && b[i]&0x80 != 0 {
			i++
			if i > 5 {
				return 0, false, nil, 0, 0, fmt.Errorf("%w: BER tag too long", ErrFormat)
			}
		}
		i++
	}
	if i >= len(b) {
		return 0, false, nil, 0, 0, fmt.Errorf("%w: truncated BER", ErrFormat)
	}
	tag = b[:i]
	class, constructed = b[0]&0xc0, b[0]&0x20 != 0
	l := int(b[i])
	i++
	switch {
	case l == 0x80:
		if !constructed {
			return 0, false, nil, 0, 0, fmt.Errorf("%w: indefinite length on a primitive", ErrFormat)
		}
		return class, constructed, tag, -1, i, nil
	case l > 0x80:
		n := l & 0x7f
		if n > 4 || i+n > len(b) {
			return 0, false, nil, 0, 0, fmt.Errorf("%w: bad BER length", ErrFormat)
		}
		l = 0
		for _, c := range b[i : i+n] {
			l = l<<8 | int(c)
		}
		i += n
	}
	if l < 0 || l > len(b)-i {
		return 0, false, nil, 0, 0, fmt.Errorf("%w: BER length beyond data", ErrFormat)
	}
	return class, constructed, tag, l, i, nil
}

func derLen(n int) []byte { return AppendLength(nil, n) }

// AppendLength appends the minimal DER length octets for n to dst.
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

// ToDER returns the DER form of the single BER element in b: lengths
// minimal and definite, constructed string types flattened into
// primitive ones. SET OF elements keep their order (a signature over a
// SET covers the order the signer used). Input that is DER already is
// returned as is; bytes after the element are an error. Real eMRTD
// security objects and CSCA master lists are sometimes BER.
func ToDER(b []byte) ([]byte, error) {
	if rest, ok := isDER(b, 0); ok && len(rest) == 0 {
		return b, nil
	}
	out, err := berToDER(b)
	if err != nil {
		return nil, err
	}
	n, err := ObjectLength(b)
	if err != nil {
		return nil, err
	}
	if n != len(b) {
		return nil, fmt.Errorf("%w: %d bytes after the BER element", ErrFormat, len(b)-n)
	}
	return out, nil
}

// isDER reports whether the first element of b uses only minimal definite
// lengths and primitive strings, and returns what follows it.
func isDER(b []byte, depth int) ([]byte, bool) {
	if depth > 64 {
		return nil, false
	}
	_, constructed, tag, l, hdr, err := berHeader(b)
	if err != nil || l < 0 || hdr != len(tag)+len(derLen(l)) {
		return nil, false
	}
	content, rest := b[hdr:hdr+l], b[hdr+l:]
	if !constructed {
		return rest, true
	}
	if isString(tag) {
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

// isString reports the universal string types DER requires primitive
// (OCTET STRING and the character strings).
func isString(tag []byte) bool {
	if len(tag) != 1 || tag[0]&0xc0 != 0 {
		return false
	}
	switch tag[0] & 0x1f {
	case 4, 12, 18, 19, 20, 21, 22, 25, 26, 27, 28, 30:
		return true
	}
	return false
}

// berElement converts one element and returns it with the remaining input.
func berElement(b []byte, depth int, budget *int) ([]byte, []byte, error) {
	*budget--
	if depth > 64 || *budget < 0 {
		return nil, nil, fmt.Errorf("%w: BER nesting too deep or too many elements", ErrFormat)
	}
	class, constructed, tag, l, hdr, err := berHeader(b)
	if err != nil {
		return nil, nil, err
	}
	if !constructed {
		return append(append(append([]byte(nil), tag...), derLen(l)...), b[hdr:hdr+l]...), b[hdr+l:], nil
	}
	var body bytes.Buffer
	var rest []byte
	if l >= 0 {
		content := b[hdr : hdr+l]
		for len(content) > 0 {
			el, r, err := berElement(content, depth+1, budget)
			if err != nil {
				return nil, nil, err
			}
			body.Write(el)
			content = r
		}
		rest = b[hdr+l:]
	} else {
		content := b[hdr:]
		for {
			if len(content) >= 2 && content[0] == 0 && content[1] == 0 {
				rest = content[2:]
				break
			}
			if len(content) == 0 {
				return nil, nil, fmt.Errorf("%w: unterminated indefinite length", ErrFormat)
			}
			el, r, err := berElement(content, depth+1, budget)
			if err != nil {
				return nil, nil, err
			}
			body.Write(el)
			content = r
		}
	}
	// A constructed OCTET STRING (or character string) becomes one
	// primitive string of the same type.
	if class == 0 && isString(tag) {
		var flat bytes.Buffer
		inner := body.Bytes()
		for len(inner) > 0 {
			_, _, _, il, ih, err := berHeader(inner)
			if err != nil {
				return nil, nil, err
			}
			flat.Write(inner[ih : ih+il])
			inner = inner[ih+il:]
		}
		return append(append([]byte{tag[0] &^ 0x20}, derLen(flat.Len())...), flat.Bytes()...), rest, nil
	}
	return append(append(append([]byte(nil), tag...), derLen(body.Len())...), body.Bytes()...), rest, nil
}

// ObjectLength returns the encoded length of the DER or BER element at the
// start of b (BER with indefinite lengths included), without copying.
func ObjectLength(b []byte) (int, error) {
	budget := 1 << 16
	rest, err := berSkip(b, 0, &budget)
	if err != nil {
		return 0, err
	}
	return len(b) - len(rest), nil
}

func berSkip(b []byte, depth int, budget *int) ([]byte, error) {
	*budget--
	if depth > 64 || *budget < 0 {
		return nil, fmt.Errorf("%w: BER nesting too deep or too many elements", ErrFormat)
	}
	_, _, _, l, hdr, err := berHeader(b)
	if err != nil {
		return nil, err
	}
	if l >= 0 {
		return b[hdr+l:], nil
	}
	content := b[hdr:]
	for {
		if len(content) >= 2 && content[0] == 0 && content[1] == 0 {
			return content[2:], nil
		}
		if len(content) == 0 {
			return nil, fmt.Errorf("%w: unterminated indefinite length", ErrFormat)
		}
		if content, err = berSkip(content, depth+1, budget); err != nil {
			return nil, err
		}
	}
}
