package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"sort"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"kyso/hashoid"
	"kyso/identity/pki"
)

// Errors of the encoder that callers branch on.
var (
	ErrUnsupportedHash = errors.New("cms: unsupported digest algorithm")
	ErrUnsupportedKey  = errors.New("cms: unsupported public key type")
)

// EncodeAttribute encodes one Attribute with a single DER value.
func EncodeAttribute(oid asn1.ObjectIdentifier, valueDER []byte) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
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

// AttributeSet encodes encoded attributes as the DER SET OF that a
// signature over signed attributes covers (RFC 5652 §5.4).
func AttributeSet(attrs [][]byte) ([]byte, error) { return derSet(cbasn1.SET, attrs) }

// SigningCertificateV2 encodes the ESS signing-certificate-v2 value for
// cert (SHA-256 hash, with issuerSerial; RFC 5035).
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

// SignedAttributes encodes the signed attributes of a signature over
// content of type contentType (id-data when nil) with the given digest:
// content-type, message-digest, signing-certificate-v2 for cert and, when
// signingTime is not zero, signing-time. The result is the DER SET as
// signed; extra holds further encoded attributes.
func SignedAttributes(contentType asn1.ObjectIdentifier, digest []byte, cert *x509.Certificate, signingTime time.Time, extra ...[]byte) ([]byte, error) {
	if contentType == nil {
		contentType = OIDData
	}
	ct, err := asn1.Marshal(contentType)
	if err != nil {
		return nil, err
	}
	md, err := asn1.Marshal(digest)
	if err != nil {
		return nil, err
	}
	values := []struct {
		oid asn1.ObjectIdentifier
		v   []byte
	}{{OIDContentType, ct}, {OIDMessageDigest, md}}
	if cert != nil {
		scv2, err := SigningCertificateV2(cert)
		if err != nil {
			return nil, err
		}
		values = append(values, struct {
			oid asn1.ObjectIdentifier
			v   []byte
		}{OIDSigningCertificateV2, scv2})
	}
	if !signingTime.IsZero() {
		st, err := asn1.MarshalWithParams(signingTime.UTC().Truncate(time.Second), "utc")
		if err != nil {
			return nil, err
		}
		values = append(values, struct {
			oid asn1.ObjectIdentifier
			v   []byte
		}{OIDSigningTime, st})
	}
	attrs := append([][]byte(nil), extra...)
	for _, a := range values {
		enc, err := EncodeAttribute(a.oid, a.v)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, enc)
	}
	return AttributeSet(attrs)
}

var (
	oidSHA256WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
)

// Algorithm is an AlgorithmIdentifier to encode: NullParams adds the NULL
// parameters PKCS #1 signature algorithms carry.
type Algorithm struct {
	OID        asn1.ObjectIdentifier
	NullParams bool
}

// SigningAlgorithm returns the signature algorithm identifier for a key
// and digest: RSA PKCS #1 v1.5, ECDSA or Ed25519 (which uses SHA-512
// internally; h must then be SHA-512, RFC 8419).
func SigningAlgorithm(pub crypto.PublicKey, h crypto.Hash) (Algorithm, error) {
	switch pub.(type) {
	case *rsa.PublicKey:
		switch h {
		case crypto.SHA256:
			return Algorithm{oidSHA256WithRSA, true}, nil
		case crypto.SHA384:
			return Algorithm{oidSHA384WithRSA, true}, nil
		case crypto.SHA512:
			return Algorithm{oidSHA512WithRSA, true}, nil
		}
	case *ecdsa.PublicKey:
		switch h {
		case crypto.SHA256:
			return Algorithm{oidECDSAWithSHA256, false}, nil
		case crypto.SHA384:
			return Algorithm{oidECDSAWithSHA384, false}, nil
		case crypto.SHA512:
			return Algorithm{oidECDSAWithSHA512, false}, nil
		}
	case ed25519.PublicKey:
		if h == crypto.SHA512 {
			return Algorithm{pki.OIDEd25519, false}, nil
		}
	default:
		return Algorithm{}, fmt.Errorf("%w: %T", ErrUnsupportedKey, pub)
	}
	return Algorithm{}, fmt.Errorf("%w: %v", ErrUnsupportedHash, h)
}

// Signed describes one SignedData with one signer to encode.
type Signed struct {
	// Hash is the digest algorithm of the content and signed attributes;
	// DigestAlgorithm, when set, names one that is not a crypto.Hash
	// (SHAKE256 for Ed448).
	Hash            crypto.Hash
	DigestAlgorithm asn1.ObjectIdentifier
	// SignatureAlgorithm names how Signature was made.
	SignatureAlgorithm Algorithm
	// Cert identifies the signer (issuer and serial number); Certs are
	// the certificates to carry (DER), usually Cert and its chain.
	Cert  *x509.Certificate
	Certs [][]byte
	// ContentType is the eContentType (id-data when nil); Content, when
	// not nil, is encapsulated (an attached signature).
	ContentType asn1.ObjectIdentifier
	Content     []byte
	// SignedAttrs is the DER SET as signed (see SignedAttributes).
	SignedAttrs []byte
	Signature   []byte
	// UnsignedAttrs are encoded attributes (see EncodeAttribute).
	UnsignedAttrs [][]byte
}

// Encode returns the DER ContentInfo of s.
func (s *Signed) Encode() ([]byte, error) {
	digestOID, ok := hashoid.OID(s.Hash)
	if s.DigestAlgorithm != nil {
		digestOID, ok = s.DigestAlgorithm, true
	}
	if !ok {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedHash, s.Hash)
	}
	if s.Cert == nil || len(s.SignedAttrs) == 0 {
		return nil, errors.New("cms: a signer certificate and signed attributes are required")
	}
	ct := s.ContentType
	if ct == nil {
		ct = OIDData
	}
	// Signed attributes are signed with a SET tag but carried as [0] IMPLICIT.
	implicitSigned := append([]byte(nil), s.SignedAttrs...)
	implicitSigned[0] = 0xA0
	var unsigned []byte
	if len(s.UnsignedAttrs) > 0 {
		var err error
		if unsigned, err = derSet(cbasn1.Tag(1).Constructed().ContextSpecific(), s.UnsignedAttrs); err != nil {
			return nil, err
		}
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ContentInfo
		b.AddASN1ObjectIdentifier(OIDSignedData)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignedData
				b.AddASN1Int64(1)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					addAlgID(b, Algorithm{OID: digestOID})
				})
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // EncapsulatedContentInfo
					b.AddASN1ObjectIdentifier(ct)
					if s.Content != nil {
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
							b.AddASN1OctetString(s.Content)
						})
					}
				})
				if len(s.Certs) > 0 {
					b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
						for _, c := range s.Certs {
							b.AddBytes(c)
						}
					})
				}
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignerInfo
						b.AddASN1Int64(1)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // IssuerAndSerialNumber
							b.AddBytes(s.Cert.RawIssuer)
							b.AddASN1BigInt(s.Cert.SerialNumber)
						})
						addAlgID(b, Algorithm{OID: digestOID})
						b.AddBytes(implicitSigned)
						addAlgID(b, s.SignatureAlgorithm)
						b.AddASN1OctetString(s.Signature)
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

func addAlgID(b *cryptobyte.Builder, a Algorithm) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(a.OID)
		if a.NullParams {
			b.AddASN1NULL()
		}
	})
}

// AddValidationData returns the ContentInfo der with certs added to
// SignedData.certificates and crls and ocsps (RFC 5940 other revocation
// information) to SignedData.crls, where CAdES B-LT places them. Neither
// field is signed, so every signature stays valid. Certificates already
// present are not repeated. BER input is re-encoded as DER first.
func AddValidationData(der []byte, certs, crls, ocsps [][]byte) ([]byte, error) {
	if len(der) > 1 && der[1] == 0x80 {
		d, err := berToDER(der)
		if err != nil {
			return nil, err
		}
		der = d
	}
	in := cryptobyte.String(der)
	var ci, explicit, sd cryptobyte.String
	var ct asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.ReadASN1ObjectIdentifier(&ct) || !ct.Equal(OIDSignedData) ||
		!ci.ReadASN1(&explicit, cbasn1.Tag(0).Constructed().ContextSpecific()) || !explicit.ReadASN1(&sd, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("%w: not a SignedData ContentInfo", ErrFormat)
	}
	var version, digestAlgs, encap cryptobyte.String
	var vTag cbasn1.Tag
	if !sd.ReadAnyASN1Element(&version, &vTag) || !sd.ReadASN1Element(&digestAlgs, cbasn1.SET) || !sd.ReadASN1Element(&encap, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("%w: SignedData", ErrFormat)
	}
	var oldCerts, oldCRLs cryptobyte.String
	var hasCerts, hasCRLs bool
	if !sd.ReadOptionalASN1(&oldCerts, &hasCerts, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!sd.ReadOptionalASN1(&oldCRLs, &hasCRLs, cbasn1.Tag(1).Constructed().ContextSpecific()) {
		return nil, fmt.Errorf("%w: SignedData", ErrFormat)
	}
	signerInfos := sd // the rest: the SET of SignerInfo
	seen := map[[32]byte]bool{}
	existing := oldCerts
	for !existing.Empty() {
		var el cryptobyte.String
		var tag cbasn1.Tag
		if !existing.ReadAnyASN1Element(&el, &tag) {
			return nil, fmt.Errorf("%w: certificates", ErrFormat)
		}
		seen[sha256.Sum256(el)] = true
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(OIDSignedData)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				if len(ocsps) > 0 {
					b.AddASN1Int64(5) // other revocation formats need version 5 (RFC 5652, 5.1)
				} else {
					b.AddBytes(version)
				}
				b.AddBytes(digestAlgs)
				b.AddBytes(encap)
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddBytes(oldCerts)
					for _, c := range certs {
						if k := sha256.Sum256(c); !seen[k] {
							seen[k] = true
							b.AddBytes(c)
						}
					}
				})
				if hasCRLs || len(crls)+len(ocsps) > 0 {
					b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
						b.AddBytes(oldCRLs)
						for _, c := range crls {
							b.AddBytes(c)
						}
						for _, o := range ocsps {
							// OtherRevocationInfoFormat ::= [1] IMPLICIT SEQUENCE { format, info }
							b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
								b.AddASN1ObjectIdentifier(OIDOCSPRevInfo)
								b.AddBytes(o)
							})
						}
					})
				}
				b.AddBytes(signerInfos)
			})
		})
	})
	return b.Bytes()
}

// TimeStampToken returns the first signature time-stamp token (unsigned
// attribute id-aa-signatureTimeStampToken) of the first signer, or nil.
func (sd *SignedData) TimeStampToken() []byte {
	if len(sd.Signers) == 0 {
		return nil
	}
	if t := sd.Signers[0].Unsigned(OIDTimeStampToken); len(t) > 0 {
		return t[0]
	}
	return nil
}
