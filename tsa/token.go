package tsa

import (
	"crypto"
	"crypto/rand"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"kyso/cms"
	"kyso/hashoid"
)

// tokenRequest is what a granted time-stamp token states.
type tokenRequest struct {
	hash    crypto.Hash
	hashed  []byte
	nonce   *big.Int
	serial  *big.Int
	genTime time.Time
	// certs adds the TSA certificate and its chain to the token.
	certs bool
}

// tstInfo encodes TSTInfo (RFC 3161 §2.4.2).
func (s *Server) tstInfo(r tokenRequest) ([]byte, error) {
	hashOID, ok := hashoid.OID(r.hash)
	if !ok {
		return nil, fmt.Errorf("tsa: no identifier for %v", r.hash)
	}
	secs, millis := int64(s.cfg.Accuracy/time.Second), int64(s.cfg.Accuracy%time.Second/time.Millisecond)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddASN1ObjectIdentifier(s.cfg.Policy)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // MessageImprint
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(hashOID) })
			b.AddASN1OctetString(r.hashed)
		})
		b.AddASN1BigInt(r.serial)
		b.AddASN1GeneralizedTime(r.genTime.UTC().Truncate(time.Second))
		if secs > 0 || millis > 0 {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // Accuracy
				if secs > 0 {
					b.AddASN1Int64(secs)
				}
				if millis > 0 {
					b.AddASN1Int64WithTag(millis, cbasn1.Tag(0).ContextSpecific())
				}
			})
		}
		if r.nonce != nil {
			b.AddASN1BigInt(r.nonce)
		}
	})
	return b.Bytes()
}

// token returns a TimeStampToken: CMS SignedData over TSTInfo, signed with
// SHA-256 by the TSA key, identifying the TSA certificate with
// signing-certificate-v2 (RFC 5816), built by kyso/cms.
func (s *Server) token(r tokenRequest) ([]byte, error) {
	info, err := s.tstInfo(r)
	if err != nil {
		return nil, err
	}
	h := crypto.SHA256
	sum := h.New()
	sum.Write(info)
	attrs, err := cms.SignedAttributes(cms.OIDTSTInfo, sum.Sum(nil), s.cfg.Cert, time.Time{})
	if err != nil {
		return nil, fmt.Errorf("tsa: signed attributes: %w", err)
	}
	alg, err := cms.SigningAlgorithm(s.cfg.Cert.PublicKey, h)
	if err != nil {
		return nil, fmt.Errorf("tsa: %w", err)
	}
	d := h.New()
	d.Write(attrs)
	sig, err := s.cfg.Signer.Sign(rand.Reader, d.Sum(nil), h)
	if err != nil {
		return nil, fmt.Errorf("tsa: sign: %w", err)
	}
	sd := cms.Signed{Hash: h, SignatureAlgorithm: alg, Cert: s.cfg.Cert, ContentType: cms.OIDTSTInfo, Content: info, SignedAttrs: attrs, Signature: sig}
	if r.certs {
		sd.Certs = [][]byte{s.cfg.Cert.Raw}
		for _, c := range s.cfg.Chain {
			sd.Certs = append(sd.Certs, c.Raw)
		}
	}
	return sd.Encode()
}

// granted wraps a token in a TimeStampResp with status granted.
func granted(token []byte) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1Int64(0) })
		b.AddBytes(token)
	})
	return b.Bytes()
}

// newSerial draws a random 160-bit serial number.
func newSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 160))
}
