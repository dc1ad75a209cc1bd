package cades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sort"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"kyso/hashoid"
)

// Object identifiers used in the structures we build.
var (
	OIDData                  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	OIDSignedData            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	OIDAttrContentType       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	OIDAttrMessageDigest     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	OIDAttrSigningTime       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	OIDAttrSigningCertV2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	OIDAttrTimeStampToken    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
	oidSHA256WithRSA         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidECDSAWithSHA256       = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384       = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512       = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	errUnsupportedHash       = errors.New("cades: unsupported digest algorithm")
	errUnsupportedKey        = errors.New("cades: unsupported public key type")
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

func signatureOID(pub crypto.PublicKey, h crypto.Hash) (asn1.ObjectIdentifier, bool, error) {
	switch pub.(type) {
	case *rsa.PublicKey:
		switch h {
		case crypto.SHA256:
			return oidSHA256WithRSA, true, nil
		case crypto.SHA384:
			return oidSHA384WithRSA, true, nil
		case crypto.SHA512:
			return oidSHA512WithRSA, true, nil
		}
	case *ecdsa.PublicKey:
		switch h {
		case crypto.SHA256:
			return oidECDSAWithSHA256, false, nil
		case crypto.SHA384:
			return oidECDSAWithSHA384, false, nil
		case crypto.SHA512:
			return oidECDSAWithSHA512, false, nil
		}
	default:
		return nil, false, fmt.Errorf("%w: %T", errUnsupportedKey, pub)
	}
	return nil, false, fmt.Errorf("%w: %v", errUnsupportedHash, h)
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

func addOID(b *cryptobyte.Builder, oid asn1.ObjectIdentifier) {
	b.AddASN1ObjectIdentifier(oid)
}

func addAlgID(b *cryptobyte.Builder, oid asn1.ObjectIdentifier, nullParams bool) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addOID(b, oid)
		if nullParams {
			b.AddASN1NULL()
		}
	})
}

func marshalAttr(oid asn1.ObjectIdentifier, valueDER []byte) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addOID(b, oid)
		b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
			b.AddBytes(valueDER)
		})
	})
	return b.Bytes()
}

// derSet encodes a DER SET OF with the given tag from already encoded
// elements, sorted as DER requires.
func derSet(tag cbasn1.Tag, elems [][]byte) ([]byte, error) {
	sorted := append([][]byte(nil), elems...)
	sort.Slice(sorted, func(i, j int) bool { return bytes.Compare(sorted[i], sorted[j]) < 0 })
	var b cryptobyte.Builder
	b.AddASN1(tag, func(b *cryptobyte.Builder) {
		for _, e := range sorted {
			b.AddBytes(e)
		}
	})
	return b.Bytes()
}

// SigningCertificateV2 encodes the ESS signing-certificate-v2 value for
// cert (SHA-256 hash, with issuerSerial).
func SigningCertificateV2(cert *x509.Certificate) ([]byte, error) {
	sum := sha256.Sum256(cert.Raw)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SigningCertificateV2
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // certs
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ESSCertIDv2
				// hashAlgorithm DEFAULT sha256 is omitted.
				b.AddASN1OctetString(sum[:])
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // IssuerSerial
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // GeneralNames
						b.AddASN1(cbasn1.Tag(4).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
							b.AddBytes(cert.RawIssuer)
						})
					})
					b.AddASN1BigInt(cert.SerialNumber)
				})
			})
		})
	})
	return b.Bytes()
}

// SignedAttributes returns the DER SET of signed attributes (tag SET, as
// signed) for a content digest.
func SignedAttributes(digest []byte, p Params) ([]byte, error) {
	var attrs [][]byte
	ct, err := asn1.Marshal(OIDData)
	if err != nil {
		return nil, err
	}
	md, err := asn1.Marshal(digest)
	if err != nil {
		return nil, err
	}
	scv2, err := SigningCertificateV2(p.Cert)
	if err != nil {
		return nil, err
	}
	for _, a := range []struct {
		oid asn1.ObjectIdentifier
		v   []byte
	}{{OIDAttrContentType, ct}, {OIDAttrMessageDigest, md}, {OIDAttrSigningCertV2, scv2}} {
		enc, err := marshalAttr(a.oid, a.v)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, enc)
	}
	if !p.SigningTime.IsZero() {
		st, err := asn1.MarshalWithParams(p.SigningTime.UTC().Truncate(time.Second), "utc")
		if err != nil {
			return nil, err
		}
		enc, err := marshalAttr(OIDAttrSigningTime, st)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, enc)
	}
	return derSet(cbasn1.SET, attrs)
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
	digestOID, err := HashOID(h)
	if err != nil {
		return nil, err
	}
	if len(digest) != h.Size() {
		return nil, errDigestLength
	}
	sigOID, sigNull, err := signatureOID(p.Cert.PublicKey, h)
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
	var unsigned []byte
	if p.Stamper != nil {
		sum := h.New()
		sum.Write(sig)
		token, err := p.Stamper.Stamp(ctx, sum.Sum(nil), h)
		if err != nil {
			return nil, fmt.Errorf("cades: signature time-stamp: %w", err)
		}
		attr, err := marshalAttr(OIDAttrTimeStampToken, token)
		if err != nil {
			return nil, err
		}
		unsigned, err = derSet(cbasn1.Tag(1).Constructed().ContextSpecific(), [][]byte{attr})
		if err != nil {
			return nil, err
		}
	}
	return assemble(p, digestOID, sigOID, sigNull, signed, sig, unsigned)
}

func assemble(p Params, digestOID, sigOID asn1.ObjectIdentifier, sigNull bool, signedAttrs, sig, unsigned []byte) ([]byte, error) {
	// signed attributes are signed with a SET tag but carried as [0] IMPLICIT.
	implicitSigned := append([]byte(nil), signedAttrs...)
	implicitSigned[0] = 0xA0
	certs := [][]byte{p.Cert.Raw}
	for _, c := range p.Chain {
		certs = append(certs, c.Raw)
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ContentInfo
		addOID(b, OIDSignedData)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignedData
				b.AddASN1Int64(1)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					addAlgID(b, digestOID, false)
				})
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // EncapsulatedContentInfo
					addOID(b, OIDData)
				})
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					for _, c := range certs {
						b.AddBytes(c)
					}
				})
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignerInfo
						b.AddASN1Int64(1)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // IssuerAndSerialNumber
							b.AddBytes(p.Cert.RawIssuer)
							b.AddASN1BigInt(p.Cert.SerialNumber)
						})
						addAlgID(b, digestOID, false)
						b.AddBytes(implicitSigned)
						addAlgID(b, sigOID, sigNull)
						b.AddASN1OctetString(sig)
						if len(unsigned) > 0 {
							b.AddBytes(unsigned)
						}
					})
				})
			})
		})
	})
	return b.Bytes()
}

// Info is what Parse extracts from a CMS SignedData with one signer.
type Info struct {
	Certificates   []*x509.Certificate
	SignerSerial   *big.Int
	DigestOID      asn1.ObjectIdentifier
	SignedAttrs    []byte // as signed (SET tag)
	MessageDigest  []byte
	Signature      []byte
	TimeStampToken []byte // from the unsigned attributes, if present
	Content        []byte // eContent, if encapsulated
	ContentType    asn1.ObjectIdentifier
}

var errMalformed = errors.New("cades: malformed CMS")

// Parse reads a CMS ContentInfo holding SignedData with exactly one
// SignerInfo. It does not verify anything.
func Parse(der []byte) (*Info, error) {
	in := cryptobyte.String(der)
	var ci, sd cryptobyte.String
	var ct asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.ReadASN1ObjectIdentifier(&ct) || !ct.Equal(OIDSignedData) ||
		!ci.ReadASN1(&sd, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, errMalformed
	}
	var sdSeq cryptobyte.String
	var version int64
	var digestAlgs, encap cryptobyte.String
	if !sd.ReadASN1(&sdSeq, cbasn1.SEQUENCE) || !sdSeq.ReadASN1Integer(&version) ||
		!sdSeq.ReadASN1(&digestAlgs, cbasn1.SET) || !sdSeq.ReadASN1(&encap, cbasn1.SEQUENCE) {
		return nil, errMalformed
	}
	info := &Info{}
	if !encap.ReadASN1ObjectIdentifier(&info.ContentType) {
		return nil, errMalformed
	}
	if !encap.Empty() {
		var explicit, octets cryptobyte.String
		if !encap.ReadASN1(&explicit, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
			!explicit.ReadASN1(&octets, cbasn1.OCTET_STRING) {
			return nil, errMalformed
		}
		info.Content = octets
	}
	var certs cryptobyte.String
	var hasCerts bool
	if !sdSeq.ReadOptionalASN1(&certs, &hasCerts, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, errMalformed
	}
	for !certs.Empty() {
		var raw cryptobyte.String
		var tag cbasn1.Tag
		if !certs.ReadAnyASN1Element(&raw, &tag) {
			return nil, errMalformed
		}
		if tag != cbasn1.SEQUENCE {
			continue // other certificate formats
		}
		c, err := x509.ParseCertificate(raw)
		if err != nil {
			return nil, fmt.Errorf("cades: certificate: %w", err)
		}
		info.Certificates = append(info.Certificates, c)
	}
	var crls cryptobyte.String
	var hasCRLs bool
	if !sdSeq.ReadOptionalASN1(&crls, &hasCRLs, cbasn1.Tag(1).Constructed().ContextSpecific()) {
		return nil, errMalformed
	}
	var signerInfos, si cryptobyte.String
	if !sdSeq.ReadASN1(&signerInfos, cbasn1.SET) || !signerInfos.ReadASN1(&si, cbasn1.SEQUENCE) || !signerInfos.Empty() {
		return nil, fmt.Errorf("%w: exactly one signer expected", errMalformed)
	}
	var siVersion int64
	var sid, digestAlg, sigAlg cryptobyte.String
	if !si.ReadASN1Integer(&siVersion) || !si.ReadASN1(&sid, cbasn1.SEQUENCE) || !si.ReadASN1(&digestAlg, cbasn1.SEQUENCE) ||
		!digestAlg.ReadASN1ObjectIdentifier(&info.DigestOID) {
		return nil, errMalformed
	}
	var issuer cryptobyte.String
	info.SignerSerial = new(big.Int)
	if !sid.ReadASN1Element(&issuer, cbasn1.SEQUENCE) || !sid.ReadASN1Integer(info.SignerSerial) {
		return nil, errMalformed
	}
	var signed cryptobyte.String
	var hasSigned bool
	if !si.ReadOptionalASN1(&signed, &hasSigned, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, errMalformed
	}
	if hasSigned {
		var sb cryptobyte.Builder
		sb.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(signed) })
		enc, err := sb.Bytes()
		if err != nil {
			return nil, err
		}
		info.SignedAttrs = enc
		attrs, err := readAttrs(signed)
		if err != nil {
			return nil, err
		}
		if v, ok := attrs[OIDAttrMessageDigest.String()]; ok {
			var md cryptobyte.String
			if !v.ReadASN1(&md, cbasn1.OCTET_STRING) {
				return nil, errMalformed
			}
			info.MessageDigest = md
		}
	}
	var sig cryptobyte.String
	if !si.ReadASN1(&sigAlg, cbasn1.SEQUENCE) || !si.ReadASN1(&sig, cbasn1.OCTET_STRING) {
		return nil, errMalformed
	}
	info.Signature = sig
	var unsigned cryptobyte.String
	var hasUnsigned bool
	if !si.ReadOptionalASN1(&unsigned, &hasUnsigned, cbasn1.Tag(1).Constructed().ContextSpecific()) {
		return nil, errMalformed
	}
	if hasUnsigned {
		attrs, err := readAttrs(unsigned)
		if err != nil {
			return nil, err
		}
		if v, ok := attrs[OIDAttrTimeStampToken.String()]; ok {
			var tok cryptobyte.String
			if !v.ReadASN1Element(&tok, cbasn1.SEQUENCE) {
				return nil, errMalformed
			}
			info.TimeStampToken = tok
		}
	}
	return info, nil
}

// readAttrs maps attribute OIDs to the contents of their value SET.
func readAttrs(s cryptobyte.String) (map[string]cryptobyte.String, error) {
	out := map[string]cryptobyte.String{}
	for !s.Empty() {
		var attr, values cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !s.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&oid) || !attr.ReadASN1(&values, cbasn1.SET) {
			return nil, errMalformed
		}
		out[oid.String()] = values
	}
	return out, nil
}
