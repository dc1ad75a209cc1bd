package jose

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
)

// Errors of SigningInput that validators map to indications.
var (
	// ErrContentMissing: the signature covers detached content that was
	// not given (SIGNED_DATA_NOT_FOUND).
	ErrContentMissing = errors.New("detached payload: the signed content was not provided")
	// ErrContentMismatch: the content given is not what the JWS carries or
	// references (HASH_FAILURE).
	ErrContentMismatch = errors.New("the content given differs from the content the signature covers")
	// ErrUnsupportedMechanism: a sigD form this package does not resolve.
	ErrUnsupportedMechanism = errors.New("unsupported detached content reference")
)

// SigningInput returns the octets signature s of doc covers (RFC 7515
// §5.2, RFC 7797 §3, ETSI TS 119 182-1 §5.2.8). content, when not nil, is
// the content the relying party gives: it is what is verified. An attached
// payload that differs from it, or a sigD digest that does not match it,
// is ErrContentMismatch; detached content that is not given is
// ErrContentMissing.
func SigningInput(doc *Doc, s Sig, p *Params, content []byte) ([]byte, error) {
	head := s.Protected + "."
	if d := p.SigD; d != nil {
		if !doc.Detached {
			return nil, formatErr("a signature with sigD must have a detached (empty) payload")
		}
		switch {
		case d.Mechanism == MechHTTPHeaders:
			return nil, fmt.Errorf("%w: sigD mechanism HttpHeaders", ErrUnsupportedMechanism)
		case len(d.Names) != 1:
			return nil, fmt.Errorf("%w: sigD references %d objects; one detached content can be given", ErrUnsupportedMechanism, len(d.Names))
		case content == nil:
			return nil, ErrContentMissing
		}
		if d.Mechanism == MechObjectByHash {
			if d.HashAlg == 0 {
				return nil, formatErr("sigD hashM %q is not a JWS digest algorithm (S256, S384, S512)", d.HashName)
			}
			h := d.HashAlg.New()
			h.Write(content)
			if !bytes.Equal(h.Sum(nil), d.Digests[0]) {
				return nil, fmt.Errorf("%w: the digest of %q in sigD does not match", ErrContentMismatch, d.Names[0])
			}
			return []byte(head), nil
		}
		return append([]byte(head), encodePayload(content, p.B64)...), nil
	}
	if doc.Detached {
		if content == nil {
			return nil, ErrContentMissing
		}
		return append([]byte(head), encodePayload(content, p.B64)...), nil
	}
	attached := []byte(doc.Payload)
	if p.B64 {
		b, err := base64.RawURLEncoding.DecodeString(doc.Payload)
		if err != nil {
			return nil, formatErr("the JWS payload is not base64url")
		}
		attached = b
	}
	if content != nil && !bytes.Equal(attached, content) {
		return nil, fmt.Errorf("%w: the attached payload is not the content given", ErrContentMismatch)
	}
	return append([]byte(head), doc.Payload...), nil
}

func encodePayload(content []byte, b64 bool) []byte {
	if !b64 {
		return content
	}
	return []byte(base64.RawURLEncoding.EncodeToString(content))
}
