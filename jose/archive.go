package jose

import (
	"fmt"
)

// ArchiveInput returns the message imprint input of an archive time-stamp
// (arcTst) standing at position index of the etsiU array of signature s
// (ETSI TS 119 182-1 §5.3.6.3): the JWS Payload (base64url encoded, or as
// is when b64 is false), ".", the JWS Protected Header (base64url), ".",
// the JWS Signature Value (base64url), ".", then the etsiU elements before
// index in their order, each as serialized.
//
// The elements are taken as serialized only when every element of etsiU is
// incorporated base64url encoded. Elements in clear need the
// canonicalization the arcTst names in canonAlg; no canonicalization is
// supported, so clear elements, a canonAlg, a sigD reference and mixed
// forms are ErrUnsupportedArchive. content is the detached payload when
// the JWS has none (nil: ErrContentMissing).
func ArchiveInput(doc *Doc, s Sig, p *Params, u *Unsigned, index int, canonAlg string, content []byte) ([]byte, error) {
	if canonAlg != "" {
		return nil, fmt.Errorf("%w: canonicalization %q is not supported", ErrUnsupportedArchive, canonAlg)
	}
	if p.SigD != nil {
		return nil, fmt.Errorf("%w: the signed data is referenced by sigD", ErrUnsupportedArchive)
	}
	if index < 0 || index > len(u.Entries) {
		return nil, fmt.Errorf("archive time-stamp position %d outside etsiU", index)
	}
	for i, e := range u.Entries {
		if e.Clear {
			return nil, fmt.Errorf("%w: etsiU element %d is in clear, which needs a canonicalization algorithm (canonAlg)", ErrUnsupportedArchive, i+1)
		}
	}
	var out []byte
	switch {
	case !doc.Detached:
		out = append(out, doc.Payload...)
	case content == nil:
		return nil, ErrContentMissing
	default:
		out = append(out, encodePayload(content, p.B64)...)
	}
	out = append(out, '.')
	out = append(out, s.Protected...)
	out = append(out, '.')
	out = append(out, s.Signature...)
	out = append(out, '.')
	for _, e := range u.Entries[:index] {
		out = append(out, e.Encoded...)
	}
	return out, nil
}
