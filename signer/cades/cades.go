package cades

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"time"

	"kyso/cms"
	"kyso/hashoid"
)

// Errors callers branch on.
var (
	errUnsupportedHash       = cms.ErrUnsupportedHash
	errDigestLength          = errors.New("cades: digest length does not match the algorithm")
	errMissingSignerMaterial = errors.New("cades: signer and certificate are required")
)

// Stamper returns an RFC 3161 TimeStampToken (a CMS ContentInfo, DER) over
// digest, which was computed with h.
type Stamper interface {
	Stamp(ctx context.Context, digest []byte, h crypto.Hash) ([]byte, error)
}

// Params describes one signature.
type Params struct {
	Signer crypto.Signer
	Cert   *x509.Certificate
	// Chain holds the issuing CAs (leaf excluded) to embed.
	Chain []*x509.Certificate
	// Hash is the digest algorithm of the content digest; SHA-256 when zero.
	Hash crypto.Hash
	// SigningTime adds the signing-time attribute when not zero.
	SigningTime time.Time
	// Stamper, when set, adds a signature time-stamp (B-T).
	Stamper Stamper
}

// signingHash reports whether signatures are made with h: SHA-256,
// SHA-384 and SHA-512.
func signingHash(h crypto.Hash) bool {
	return h == crypto.SHA256 || h == crypto.SHA384 || h == crypto.SHA512
}

// HashOID returns the digest algorithm identifier for h.
func HashOID(h crypto.Hash) (asn1.ObjectIdentifier, error) {
	if oid, ok := hashoid.OID(h); ok && signingHash(h) {
		return oid, nil
	}
	return nil, fmt.Errorf("%w: %v", errUnsupportedHash, h)
}

// HashFromOID maps a digest algorithm identifier to a hash.
func HashFromOID(oid asn1.ObjectIdentifier) (crypto.Hash, error) {
	if h, ok := hashoid.Hash(oid); ok && signingHash(h) {
		return h, nil
	}
	return 0, fmt.Errorf("%w: %v", errUnsupportedHash, oid)
}

// DigestReader hashes r with h.
func DigestReader(r io.Reader, h crypto.Hash) ([]byte, error) {
	if !h.Available() {
		return nil, errUnsupportedHash
	}
	hh := h.New()
	if _, err := io.Copy(hh, r); err != nil {
		return nil, fmt.Errorf("cades: hash content: %w", err)
	}
	return hh.Sum(nil), nil
}

// SignedAttributes returns the DER SET of signed attributes (tag SET, as
// signed) for a content digest: content-type id-data, message-digest,
// signing-certificate-v2 and, when p.SigningTime is set, signing-time.
func SignedAttributes(digest []byte, p Params) ([]byte, error) {
	return cms.SignedAttributes(nil, digest, p.Cert, p.SigningTime)
}

// Sign returns a detached CMS SignedData (ContentInfo, DER) over a content
// digest computed with p.Hash.
func Sign(ctx context.Context, digest []byte, p Params) ([]byte, error) {
	if p.Signer == nil || p.Cert == nil {
		return nil, errMissingSignerMaterial
	}
	h := p.Hash
	if h == 0 {
		h = crypto.SHA256
	}
	p.Hash = h
	if _, err := HashOID(h); err != nil {
		return nil, err
	}
	if len(digest) != h.Size() {
		return nil, errDigestLength
	}
	alg, err := cms.SigningAlgorithm(p.Cert.PublicKey, h)
	if err != nil {
		return nil, err
	}
	signed, err := SignedAttributes(digest, p)
	if err != nil {
		return nil, fmt.Errorf("cades: signed attributes: %w", err)
	}
	hh := h.New()
	hh.Write(signed)
	sig, err := p.Signer.Sign(rand.Reader, hh.Sum(nil), h)
	if err != nil {
		return nil, fmt.Errorf("cades: sign: %w", err)
	}
	var unsigned [][]byte
	if p.Stamper != nil {
		sum := h.New()
		sum.Write(sig)
		token, err := p.Stamper.Stamp(ctx, sum.Sum(nil), h)
		if err != nil {
			return nil, fmt.Errorf("cades: signature time-stamp: %w", err)
		}
		attr, err := cms.EncodeAttribute(cms.OIDTimeStampToken, token)
		if err != nil {
			return nil, err
		}
		unsigned = append(unsigned, attr)
	}
	certs := [][]byte{p.Cert.Raw}
	for _, c := range p.Chain {
		certs = append(certs, c.Raw)
	}
	s := cms.Signed{Hash: h, SignatureAlgorithm: alg, Cert: p.Cert, Certs: certs, SignedAttrs: signed, Signature: sig, UnsignedAttrs: unsigned}
	return s.Encode()
}
