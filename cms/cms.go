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

	// Hash implementations used by signatures we check.
	_ "crypto/sha256"
	_ "crypto/sha512"

	"kyso/hashoid"
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
			if e.Class != asn1.ClassUniversal || e.Tag != asn1.TagSequence {
				continue // attribute and other certificates
			}
			c, err := x509.ParseCertificate(e.FullBytes)
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
	si := &SignerInfo{Version: a.Version, DigestAlgorithm: a.DigestAlgorithm, SignatureAlgorithm: a.SignatureAlgorithm, Signature: a.Signature}
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
		at := Attribute{Type: a.Type}
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
	return 0, fmt.Errorf("unsupported digest algorithm %v", oid)
}

// Hash returns the signer's digest algorithm.
func (si *SignerInfo) Hash() (crypto.Hash, error) { return HashFor(si.DigestAlgorithm.Algorithm) }

var (
	oidRSA       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidRSAPSS    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidECPublic  = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	OIDEd25519   = asn1.ObjectIdentifier{1, 3, 101, 112}
	namedSigAlgs = []struct {
		oid asn1.ObjectIdentifier
		alg x509.SignatureAlgorithm
	}{
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}, x509.SHA1WithRSA},
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}, x509.SHA256WithRSA},
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}, x509.SHA384WithRSA},
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}, x509.SHA512WithRSA},
		{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}, x509.ECDSAWithSHA1},
		{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}, x509.ECDSAWithSHA256},
		{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}, x509.ECDSAWithSHA384},
		{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}, x509.ECDSAWithSHA512},
	}
)

// SignatureAlgorithm maps the signer's algorithm identifiers to x509's.
func (si *SignerInfo) SignatureAlgorithmX509() (x509.SignatureAlgorithm, error) {
	oid := si.SignatureAlgorithm.Algorithm
	for _, a := range namedSigAlgs {
		if a.oid.Equal(oid) {
			return a.alg, nil
		}
	}
	h, err := si.Hash()
	if err != nil {
		return 0, err
	}
	pick := func(m map[crypto.Hash]x509.SignatureAlgorithm) (x509.SignatureAlgorithm, error) {
		if a, ok := m[h]; ok {
			return a, nil
		}
		return 0, fmt.Errorf("unsupported digest %v for %v", h, oid)
	}
	switch {
	case oid.Equal(oidRSA):
		return pick(map[crypto.Hash]x509.SignatureAlgorithm{crypto.SHA1: x509.SHA1WithRSA, crypto.SHA256: x509.SHA256WithRSA, crypto.SHA384: x509.SHA384WithRSA, crypto.SHA512: x509.SHA512WithRSA})
	case oid.Equal(oidRSAPSS):
		return pick(map[crypto.Hash]x509.SignatureAlgorithm{crypto.SHA256: x509.SHA256WithRSAPSS, crypto.SHA384: x509.SHA384WithRSAPSS, crypto.SHA512: x509.SHA512WithRSAPSS})
	case oid.Equal(oidECPublic):
		return pick(map[crypto.Hash]x509.SignatureAlgorithm{crypto.SHA1: x509.ECDSAWithSHA1, crypto.SHA256: x509.ECDSAWithSHA256, crypto.SHA384: x509.ECDSAWithSHA384, crypto.SHA512: x509.ECDSAWithSHA512})
	case oid.Equal(OIDEd25519):
		return x509.PureEd25519, nil
	}
	return 0, fmt.Errorf("unsupported signature algorithm %v", oid)
}

// VerifySignature checks the signature value over the signed attributes
// (or over content when there are none) with cert's public key.
func (si *SignerInfo) VerifySignature(cert *x509.Certificate, content []byte) error {
	alg, err := si.SignatureAlgorithmX509()
	if err != nil {
		return err
	}
	msg := content
	if si.SignedAttrsDER != nil {
		msg = si.SignedAttrsDER
	}
	return cert.CheckSignature(alg, msg, si.Signature)
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
