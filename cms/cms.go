// Package cms is Kyso's one implementation of CMS SignedData (RFC 5652):
// it parses SignedData (DER, and BER re-encoded as DER) and RFC 3161
// time-stamp tokens for validation, checks signer-info signatures, and
// encodes SignedData for the CAdES and PAdES signers (signed attributes,
// signing-certificate-v2, detached or attached content, validation data
// added for B-LT).
//
// We parse with encoding/asn1 and encode with cryptobyte ourselves rather
// than through github.com/digitorus/pkcs7 because validation needs the
// exact DER of the signed attributes, every unsigned attribute (time-stamp
// tokens, revocation values), the signing-certificate-v2 attribute and the
// raw revocation choices, and must report which check failed (digest,
// signature, signer identification) instead of one combined error; and
// because signing must work from a digest computed elsewhere (streamed
// files, remote clients that send only hashes), which that library cannot.
package cms

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"crypto/sha3"
	"hash"

	"kyso/hashoid"
	"kyso/identity/pki"
)

// Object identifiers used in CMS, ESS, CAdES and RFC 3161.
var (
	OIDData                 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	OIDSignedData           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	OIDTSTInfo              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	OIDContentType          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	OIDMessageDigest        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	OIDSigningTime          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	OIDSigningCertificate   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 12}
	OIDSigningCertificateV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	OIDTimeStampToken       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
	OIDRevocationValues     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 24}
	OIDAdobeRevocation      = asn1.ObjectIdentifier{1, 2, 840, 113583, 1, 1, 8}
	OIDOCSPRevInfo          = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 16, 2}
)

// ErrFormat marks input that is not well-formed CMS.
var ErrFormat = errors.New("malformed CMS")

// Attribute is a CMS attribute with its DER-encoded values.
type Attribute struct {
	Type   asn1.ObjectIdentifier
	Values [][]byte
	// RawType is the attrType as encoded (set by the parser).
	RawType []byte
}

// SignerInfo is one signer of a SignedData.
type SignerInfo struct {
	Version            int
	IssuerRaw          []byte // DER Name, when identified by issuer and serial
	Serial             *big.Int
	SubjectKeyID       []byte
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrsDER     []byte // re-tagged as SET OF, the bytes the signature covers
	SignedAttrs        []Attribute
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      []Attribute
	// Raw is the SignerInfo as encoded; SignedFields are its fields
	// version, sid, digestAlgorithm, signedAttrs, signatureAlgorithm and
	// signature as encoded, in their order (what an
	// archive-time-stamp-v3 covers of a signer, ETSI EN 319 122-1 §5.5.3).
	Raw, SignedFields []byte
}

// SignedData is a parsed CMS SignedData.
type SignedData struct {
	Version      int
	EContentType asn1.ObjectIdentifier
	EContent     []byte // nil when detached
	Certificates []*x509.Certificate
	CRLs         [][]byte // DER CertificateList
	OCSPs        [][]byte // DER OCSPResponse from otherRevInfo
	Signers      []*SignerInfo
	// RawCertificates and RawCRLs are every CertificateChoices and
	// RevocationInfoChoice element as encoded, in order (what the
	// ats-hash-index-v3 of an archive time-stamp indexes).
	RawCertificates, RawCRLs [][]byte
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

type signedDataASN struct {
	Version          int
	DigestAlgorithms asn1.RawValue
	EncapContentInfo encapContentInfo
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      asn1.RawValue
}

type encapContentInfo struct {
	EContentType asn1.ObjectIdentifier
	EContent     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

type signerInfoASN struct {
	Version            int
	SID                asn1.RawValue
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type attributeASN struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue
}

// elements splits the content of a constructed value into its DER elements.
func elements(b []byte) ([]asn1.RawValue, error) {
	var out []asn1.RawValue
	for len(b) > 0 {
		var v asn1.RawValue
		rest, err := asn1.Unmarshal(b, &v)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		b = rest
		if len(out) > 10000 {
			return nil, fmt.Errorf("%w: too many elements", ErrFormat)
		}
	}
	return out, nil
}

// Parse parses a DER ContentInfo holding SignedData. Trailing zero bytes
// (the padding of a PDF /Contents value) are ignored; other trailing data is
// an error.
func Parse(der []byte) (*SignedData, error) {
	sd, err := parse(der)
	if err == nil || len(der) < 2 || der[1] != 0x80 {
		return sd, err
	}
	// Indefinite-length BER: re-encode as DER and try again.
	d, berErr := berToDER(der)
	if berErr != nil {
		return nil, err
	}
	return parse(d)
}

func parse(der []byte) (*SignedData, error) {
	var ci contentInfo
	rest, err := asn1.Unmarshal(der, &ci)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if len(bytes.Trim(rest, "\x00")) != 0 {
		return nil, fmt.Errorf("%w: trailing data after ContentInfo", ErrFormat)
	}
	if !ci.ContentType.Equal(OIDSignedData) {
		return nil, fmt.Errorf("%w: content type %v is not signedData", ErrFormat, ci.ContentType)
	}
	var sd signedDataASN
	if rest, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: SignedData: %v", ErrFormat, err)
	}
	out := &SignedData{Version: sd.Version, EContentType: sd.EncapContentInfo.EContentType}
	if len(sd.EncapContentInfo.EContent.FullBytes) > 0 {
		var oct []byte
		if _, err := asn1.Unmarshal(sd.EncapContentInfo.EContent.Bytes, &oct); err != nil {
			return nil, fmt.Errorf("%w: eContent: %v", ErrFormat, err)
		}
		if oct == nil {
			oct = []byte{}
		}
		out.EContent = oct
	}
	if len(sd.Certificates.Bytes) > 0 {
		els, err := elements(sd.Certificates.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: certificates: %v", ErrFormat, err)
		}
		for _, e := range els {
			out.RawCertificates = append(out.RawCertificates, e.FullBytes)
			if e.Class != asn1.ClassUniversal || e.Tag != asn1.TagSequence {
				continue // attribute and other certificates
			}
			c, err := ParseCertificate(e.FullBytes)
			if err != nil {
				return nil, fmt.Errorf("%w: certificate: %v", ErrFormat, err)
			}
			out.Certificates = append(out.Certificates, c)
		}
	}
	if len(sd.CRLs.Bytes) > 0 {
		els, err := elements(sd.CRLs.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: crls: %v", ErrFormat, err)
		}
		for _, e := range els {
			out.RawCRLs = append(out.RawCRLs, e.FullBytes)
			switch {
			case e.Class == asn1.ClassUniversal && e.Tag == asn1.TagSequence:
				out.CRLs = append(out.CRLs, e.FullBytes)
			case e.Class == asn1.ClassContextSpecific && e.Tag == 1:
				var other struct {
					Format asn1.ObjectIdentifier
					Info   asn1.RawValue
				}
				if _, err := asn1.Unmarshal(append([]byte{0x30}, e.FullBytes[1:]...), &other); err == nil && other.Format.Equal(OIDOCSPRevInfo) {
					out.OCSPs = append(out.OCSPs, other.Info.FullBytes)
				}
			}
		}
	}
	sis, err := elements(sd.SignerInfos.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: signerInfos: %v", ErrFormat, err)
	}
	for _, e := range sis {
		si, err := parseSignerInfo(e.FullBytes)
		if err != nil {
			return nil, err
		}
		out.Signers = append(out.Signers, si)
	}
	if len(out.Signers) == 0 {
		return nil, fmt.Errorf("%w: no signer", ErrFormat)
	}
	return out, nil
}

func parseSignerInfo(der []byte) (*SignerInfo, error) {
	var a signerInfoASN
	if rest, err := asn1.Unmarshal(der, &a); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: signerInfo: %v", ErrFormat, err)
	}
	si := &SignerInfo{Version: a.Version, DigestAlgorithm: a.DigestAlgorithm, SignatureAlgorithm: a.SignatureAlgorithm, Signature: a.Signature, Raw: der}
	var outer asn1.RawValue
	if _, err := asn1.Unmarshal(der, &outer); err != nil {
		return nil, fmt.Errorf("%w: signerInfo: %v", ErrFormat, err)
	}
	fields, err := elements(outer.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: signerInfo: %v", ErrFormat, err)
	}
	for _, f := range fields {
		if f.Class == asn1.ClassContextSpecific && f.Tag == 1 {
			break // unsignedAttrs, the last field
		}
		si.SignedFields = append(si.SignedFields, f.FullBytes...)
	}
	switch {
	case a.SID.Class == asn1.ClassUniversal && a.SID.Tag == asn1.TagSequence:
		var ias issuerAndSerial
		if _, err := asn1.Unmarshal(a.SID.FullBytes, &ias); err != nil {
			return nil, fmt.Errorf("%w: sid: %v", ErrFormat, err)
		}
		si.IssuerRaw, si.Serial = ias.Issuer.FullBytes, ias.Serial
	case a.SID.Class == asn1.ClassContextSpecific && a.SID.Tag == 0:
		si.SubjectKeyID = a.SID.Bytes
	default:
		return nil, fmt.Errorf("%w: unknown signer identifier", ErrFormat)
	}
	if len(a.SignedAttrs.FullBytes) > 0 {
		si.SignedAttrsDER = append([]byte{0x31}, a.SignedAttrs.FullBytes[1:]...)
		attrs, err := parseAttributes(a.SignedAttrs.Bytes)
		if err != nil {
			return nil, err
		}
		si.SignedAttrs = attrs
	}
	if len(a.UnsignedAttrs.FullBytes) > 0 {
		attrs, err := parseAttributes(a.UnsignedAttrs.Bytes)
		if err != nil {
			return nil, err
		}
		si.UnsignedAttrs = attrs
	}
	return si, nil
}

func parseAttributes(b []byte) ([]Attribute, error) {
	els, err := elements(b)
	if err != nil {
		return nil, fmt.Errorf("%w: attributes: %v", ErrFormat, err)
	}
	var out []Attribute
	for _, e := range els {
		var a attributeASN
		if rest, err := asn1.Unmarshal(e.FullBytes, &a); err != nil || len(rest) != 0 {
			return nil, fmt.Errorf("%w: attribute: %v", ErrFormat, err)
		}
		vals, err := elements(a.Values.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: attribute values: %v", ErrFormat, err)
		}
		at := Attribute{Type: a.Type, RawType: rawFirst(e.Bytes)}
		for _, v := range vals {
			at.Values = append(at.Values, v.FullBytes)
		}
		out = append(out, at)
	}
	return out, nil
}

// Signed returns the values of the signed attribute t; an attribute that
// occurs more than once is a format error.
func (si *SignerInfo) Signed(t asn1.ObjectIdentifier) ([][]byte, error) {
	return find(si.SignedAttrs, t)
}

// Unsigned returns the values of every unsigned attribute of type t.
func (si *SignerInfo) Unsigned(t asn1.ObjectIdentifier) [][]byte {
	var out [][]byte
	for _, a := range si.UnsignedAttrs {
		if a.Type.Equal(t) {
			out = append(out, a.Values...)
		}
	}
	return out
}

func find(attrs []Attribute, t asn1.ObjectIdentifier) ([][]byte, error) {
	var out [][]byte
	n := 0
	for _, a := range attrs {
		if a.Type.Equal(t) {
			n++
			out = a.Values
		}
	}
	if n > 1 {
		return nil, fmt.Errorf("%w: attribute %v repeated", ErrFormat, t)
	}
	return out, nil
}

// MessageDigest returns the message-digest signed attribute.
func (si *SignerInfo) MessageDigest() ([]byte, error) {
	v, err := si.Signed(OIDMessageDigest)
	if err != nil {
		return nil, err
	}
	if len(v) != 1 {
		return nil, fmt.Errorf("%w: message-digest attribute missing", ErrFormat)
	}
	var d []byte
	if _, err := asn1.Unmarshal(v[0], &d); err != nil {
		return nil, fmt.Errorf("%w: message-digest: %v", ErrFormat, err)
	}
	return d, nil
}

// ContentType returns the content-type signed attribute.
func (si *SignerInfo) ContentType() (asn1.ObjectIdentifier, error) {
	v, err := si.Signed(OIDContentType)
	if err != nil {
		return nil, err
	}
	if len(v) != 1 {
		return nil, fmt.Errorf("%w: content-type attribute missing", ErrFormat)
	}
	var o asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(v[0], &o); err != nil {
		return nil, fmt.Errorf("%w: content-type: %v", ErrFormat, err)
	}
	return o, nil
}

// SigningTime returns the claimed signing time, if present.
func (si *SignerInfo) SigningTime() (time.Time, bool) {
	v, err := si.Signed(OIDSigningTime)
	if err != nil || len(v) != 1 {
		return time.Time{}, false
	}
	var t time.Time
	if _, err := asn1.Unmarshal(v[0], &t); err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// HashFor maps a digest algorithm identifier to a hash.
func HashFor(oid asn1.ObjectIdentifier) (crypto.Hash, error) {
	if h, ok := hashoid.Hash(oid); ok {
		return h, nil
	}
	return 0, fmt.Errorf("%w: digest algorithm %s", ErrUnsupportedAlgorithm, AlgorithmName(oid))
}

// Hash returns the signer's digest algorithm when it is a crypto.Hash
// (every digest but SHAKE256, see Digest).
func (si *SignerInfo) Hash() (crypto.Hash, error) { return HashFor(si.DigestAlgorithm.Algorithm) }

// Digest returns a constructor for the signer's digest algorithm: the
// crypto.Hash ones, and SHAKE256 with 512 bits of output (id-shake256 and
// id-shake256-len, which Ed448 signers use, RFC 8419).
func (si *SignerInfo) Digest() (func() hash.Hash, error) {
	return DigestFor(si.DigestAlgorithm)
}

// DigestFor is Digest for any digest AlgorithmIdentifier.
func DigestFor(alg pkix.AlgorithmIdentifier) (func() hash.Hash, error) {
	oid := alg.Algorithm
	if oid.Equal(oidSHAKE256) || oid.Equal(oidSHAKE256Len) {
		if oid.Equal(oidSHAKE256Len) {
			var bits int
			if _, err := asn1.Unmarshal(alg.Parameters.FullBytes, &bits); err != nil || bits != 512 {
				return nil, fmt.Errorf("%w: SHAKE256 output length", ErrUnsupportedAlgorithm)
			}
		}
		return func() hash.Hash { return &shake{sha3.NewSHAKE256(), 64} }, nil
	}
	h, err := HashFor(oid)
	if err != nil {
		return nil, err
	}
	return h.New, nil
}

// shake is SHAKE256 as a fixed-length hash.Hash.
type shake struct {
	*sha3.SHAKE
	size int
}

func (s *shake) Size() int { return s.size }
func (s *shake) Sum(b []byte) []byte {
	// Reading finalises the sponge; read from a copy so Write may go on.
	c := *s.SHAKE
	out := make([]byte, s.size)
	_, _ = c.Read(out)
	return append(b, out...)
}

var (
	oidSHAKE256    = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 12}
	oidSHAKE256Len = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 18}
)

// ErrUnsupportedAlgorithm marks a digest or signature algorithm (or key
// type) this package cannot check. A signature using one is not known to
// be wrong: validators report it as indeterminate, not failed.
var ErrUnsupportedAlgorithm = errors.New("unsupported algorithm")

// ErrSignatureInvalid marks a signature value that does not verify.
var ErrSignatureInvalid = errors.New("the signature value does not verify")

// PublicKey returns the public key of cert in the form signature checks
// use. It reads the SubjectPublicKeyInfo itself, so keys crypto/x509 does
// not know (brainpool and explicit curves, RSASSA-PSS keys, Ed448) work.
func PublicKey(cert *x509.Certificate) (*pki.PublicKey, error) {
	pub, err := pki.ParsePublicKey(cert.RawSubjectPublicKeyInfo)
	if err != nil {
		var spki struct {
			Algorithm pkix.AlgorithmIdentifier
			Key       asn1.BitString
		}
		if _, e := asn1.Unmarshal(cert.RawSubjectPublicKeyInfo, &spki); e == nil {
			return nil, fmt.Errorf("%w: %s public key (%v)", ErrUnsupportedAlgorithm, AlgorithmName(spki.Algorithm.Algorithm), err)
		}
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedAlgorithm, err)
	}
	return pub, nil
}

// VerifySignature checks the signature value with cert's public key over
// the signed attributes or, when there are none, over content (the signed
// content itself). Algorithms: RSA PKCS #1 v1.5 and RSASSA-PSS, ECDSA (DER
// or BSI TR-03111 plain r‖s) on NIST, brainpool and explicit curves, with
// SHA-1, SHA-2 or SHA-3; Ed25519 and Ed448. An algorithm outside that set
// gives an error wrapping ErrUnsupportedAlgorithm; a wrong signature one
// wrapping ErrSignatureInvalid.
func (si *SignerInfo) VerifySignature(cert *x509.Certificate, content []byte) error {
	msg := content
	if si.SignedAttrsDER != nil {
		msg = si.SignedAttrsDER
	}
	return CheckSignature(cert, si.SignatureAlgorithm, si.DigestAlgorithm.Algorithm, msg, si.Signature)
}

// CheckSignature verifies sig over msg with cert's key. digestAlg supplies
// the hash when the signature algorithm does not fix one (rsaEncryption,
// ecPublicKey), as in CMS.
func CheckSignature(cert *x509.Certificate, sigAlg pkix.AlgorithmIdentifier, digestAlg asn1.ObjectIdentifier, msg, sig []byte) error {
	pub, err := PublicKey(cert)
	if err != nil {
		return err
	}
	err = pki.VerifySignature(pub, sigAlg, digestAlg, msg, sig)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pki.ErrUnsupported):
		return fmt.Errorf("%w: %s with a %s key", ErrUnsupportedAlgorithm, AlgorithmName(sigAlg.Algorithm), pub)
	default:
		return fmt.Errorf("%w (%s, %s key)", ErrSignatureInvalid, AlgorithmName(sigAlg.Algorithm), pub)
	}
}

// SignatureHash returns the hash the signature value was computed with:
// the one its algorithm names (sha256WithRSAEncryption, RSASSA-PSS
// parameters, ...) or else the digest algorithm; 0 for pure EdDSA and
// unknown algorithms.
func (si *SignerInfo) SignatureHash() crypto.Hash {
	oid := si.SignatureAlgorithm.Algorithm
	if oid.Equal(pki.OIDRSAPSS) {
		h, _, err := pki.PSSParameters(si.SignatureAlgorithm.Parameters.FullBytes)
		if err != nil {
			return 0
		}
		return h
	}
	if oid.Equal(pki.OIDEd25519) || oid.Equal(pki.OIDEd448) {
		return 0
	}
	if h := pki.SignatureHash(oid); h != 0 {
		return h
	}
	h, _ := si.Hash()
	return h
}

// AlgorithmName names a digest or signature algorithm for reports.
func AlgorithmName(oid asn1.ObjectIdentifier) string {
	if n, ok := algorithmNames[oid.String()]; ok {
		return n
	}
	return oid.String()
}

var algorithmNames = map[string]string{
	"1.3.14.3.2.26":           "SHA-1",
	"2.16.840.1.101.3.4.2.4":  "SHA-224",
	"2.16.840.1.101.3.4.2.1":  "SHA-256",
	"2.16.840.1.101.3.4.2.2":  "SHA-384",
	"2.16.840.1.101.3.4.2.3":  "SHA-512",
	"2.16.840.1.101.3.4.2.7":  "SHA3-224",
	"2.16.840.1.101.3.4.2.8":  "SHA3-256",
	"2.16.840.1.101.3.4.2.9":  "SHA3-384",
	"2.16.840.1.101.3.4.2.10": "SHA3-512",
	"2.16.840.1.101.3.4.2.12": "SHAKE256",
	"2.16.840.1.101.3.4.2.18": "SHAKE256-len",
	"1.2.840.113549.2.5":      "MD5",
	"1.3.36.3.2.1":            "RIPEMD-160",
	"1.2.840.113549.1.1.1":    "RSA",
	"1.2.840.113549.1.1.4":    "MD5 with RSA",
	"1.2.840.113549.1.1.5":    "SHA-1 with RSA",
	"1.2.840.113549.1.1.10":   "RSASSA-PSS",
	"1.2.840.113549.1.1.11":   "SHA-256 with RSA",
	"1.2.840.113549.1.1.12":   "SHA-384 with RSA",
	"1.2.840.113549.1.1.13":   "SHA-512 with RSA",
	"1.2.840.113549.1.1.14":   "SHA-224 with RSA",
	"1.2.840.10040.4.1":       "DSA",
	"1.2.840.10040.4.3":       "SHA-1 with DSA",
	"1.2.840.10045.2.1":       "ECDSA",
	"1.2.840.10045.4.1":       "ECDSA with SHA-1",
	"1.2.840.10045.4.3.2":     "ECDSA with SHA-256",
	"1.2.840.10045.4.3.3":     "ECDSA with SHA-384",
	"1.2.840.10045.4.3.4":     "ECDSA with SHA-512",
	"1.3.101.112":             "Ed25519",
	"1.3.101.113":             "Ed448",
	"0.4.0.127.0.7.1.1.4.1.3": "plain ECDSA with SHA-256",
	"0.4.0.127.0.7.1.1.4.1.4": "plain ECDSA with SHA-384",
	"0.4.0.127.0.7.1.1.4.1.5": "plain ECDSA with SHA-512",
	"2.16.840.1.101.3.4.3.10": "ECDSA with SHA3-256",
	"2.16.840.1.101.3.4.3.14": "SHA3-256 with RSA",
	"0.4.0.127.0.7.1.1.4.1.1": "plain ECDSA with SHA-1",
	"2.16.840.1.101.3.4.3.2":  "DSA with SHA-256",
}

// Matches reports whether cert is the certificate the signer identifier names.
func (si *SignerInfo) Matches(cert *x509.Certificate) bool {
	if si.SubjectKeyID != nil {
		return len(cert.SubjectKeyId) > 0 && bytes.Equal(cert.SubjectKeyId, si.SubjectKeyID)
	}
	return si.Serial != nil && cert.SerialNumber.Cmp(si.Serial) == 0 && bytes.Equal(cert.RawIssuer, si.IssuerRaw)
}

// FindSigner returns the certificate among certs matching the signer identifier.
func (si *SignerInfo) FindSigner(certs []*x509.Certificate) *x509.Certificate {
	for _, c := range certs {
		if si.Matches(c) {
			return c
		}
	}
	return nil
}

// ESSCertID is one entry of a signing-certificate(-v2) attribute.
type ESSCertID struct {
	Hash      crypto.Hash
	CertHash  []byte
	IssuerRaw []byte   // DER Name from issuerSerial, when present
	Serial    *big.Int // from issuerSerial, when present
}

// SigningCertificate returns the first ESS cert ID from signing-certificate-v2
// (or, failing that, signing-certificate); ok is false when neither is present.
func (si *SignerInfo) SigningCertificate() (id ESSCertID, v2 bool, ok bool, err error) {
	if v, err := si.Signed(OIDSigningCertificateV2); err != nil {
		return id, false, false, err
	} else if len(v) == 1 {
		id, err := parseESS(v[0], true)
		return id, true, err == nil, err
	}
	if v, err := si.Signed(OIDSigningCertificate); err != nil {
		return id, false, false, err
	} else if len(v) == 1 {
		id, err := parseESS(v[0], false)
		return id, false, err == nil, err
	}
	return id, false, false, nil
}

func parseESS(der []byte, v2 bool) (ESSCertID, error) {
	var outer asn1.RawValue
	if _, err := asn1.Unmarshal(der, &outer); err != nil {
		return ESSCertID{}, fmt.Errorf("%w: signing-certificate: %v", ErrFormat, err)
	}
	parts, err := elements(outer.Bytes)
	if err != nil || len(parts) == 0 {
		return ESSCertID{}, fmt.Errorf("%w: signing-certificate", ErrFormat)
	}
	ids, err := elements(parts[0].Bytes)
	if err != nil || len(ids) == 0 {
		return ESSCertID{}, fmt.Errorf("%w: signing-certificate: no cert ids", ErrFormat)
	}
	fields, err := elements(ids[0].Bytes)
	if err != nil || len(fields) == 0 {
		return ESSCertID{}, fmt.Errorf("%w: signing-certificate: bad cert id", ErrFormat)
	}
	id := ESSCertID{Hash: crypto.SHA1}
	if v2 {
		id.Hash = crypto.SHA256
		if fields[0].Tag == asn1.TagSequence {
			var alg pkix.AlgorithmIdentifier
			if _, err := asn1.Unmarshal(fields[0].FullBytes, &alg); err != nil {
				return ESSCertID{}, fmt.Errorf("%w: signing-certificate-v2 hash algorithm", ErrFormat)
			}
			h, err := HashFor(alg.Algorithm)
			if err != nil {
				return ESSCertID{}, err
			}
			id.Hash = h
			fields = fields[1:]
		}
	}
	if len(fields) == 0 || fields[0].Tag != asn1.TagOctetString {
		return ESSCertID{}, fmt.Errorf("%w: signing-certificate: cert hash", ErrFormat)
	}
	id.CertHash = fields[0].Bytes
	if len(fields) > 1 {
		var is struct {
			Issuer asn1.RawValue
			Serial *big.Int
		}
		if _, err := asn1.Unmarshal(fields[1].FullBytes, &is); err == nil {
			id.Serial = is.Serial
			// GeneralNames: SEQUENCE { [4] EXPLICIT Name }
			if gns, err := elements(is.Issuer.Bytes); err == nil && len(gns) > 0 && gns[0].Class == asn1.ClassContextSpecific && gns[0].Tag == 4 {
				id.IssuerRaw = gns[0].Bytes
			}
		}
	}
	return id, nil
}

// MatchesCert reports whether the ESS cert ID names cert.
func (id ESSCertID) MatchesCert(cert *x509.Certificate) bool {
	if !id.Hash.Available() {
		return false
	}
	var sum []byte
	if id.Hash == crypto.SHA1 {
		s := sha1.Sum(cert.Raw)
		sum = s[:]
	} else {
		h := id.Hash.New()
		h.Write(cert.Raw)
		sum = h.Sum(nil)
	}
	if !bytes.Equal(sum, id.CertHash) {
		return false
	}
	if id.Serial != nil && id.Serial.Cmp(cert.SerialNumber) != 0 {
		return false
	}
	if id.IssuerRaw != nil && !bytes.Equal(id.IssuerRaw, cert.RawIssuer) {
		return false
	}
	return true
}

// rawFirst returns the first element of the content b as encoded.
func rawFirst(b []byte) []byte {
	var v asn1.RawValue
	if _, err := asn1.Unmarshal(b, &v); err != nil {
		return nil
	}
	return v.FullBytes
}

// ParseSignerInfo parses one DER SignerInfo (the value of a
// countersignature attribute, RFC 5652 §11.4).
func ParseSignerInfo(der []byte) (*SignerInfo, error) { return parseSignerInfo(der) }
