package lds

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"time"

	"kyso/identity/internal/ber"
	"kyso/identity/pki"
)

// CMS and ICAO object identifiers.
var (
	OIDSignedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	OIDAttrContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	OIDAttrMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	OIDAttrSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	// OIDLDSSecurityObject is id-icao-mrtd-security-ldsSecurityObject.
	OIDLDSSecurityObject = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 1}
	// OIDCSCAMasterList is id-icao-cscaMasterList.
	OIDCSCAMasterList = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 2}
)

// SignedData is a parsed CMS SignedData (RFC 5652).
type SignedData struct {
	DigestAlgorithms []pki.AlgorithmIdentifier
	EContentType     asn1.ObjectIdentifier
	// EContent is the encapsulated content octets exactly as carried.
	EContent     []byte
	Certificates []*pki.Certificate
	SignerInfos  []SignerInfo
}

// SignerInfo is one CMS SignerInfo.
type SignerInfo struct {
	Version int
	// Issuer and SerialNumber identify the signer (IssuerAndSerialNumber),
	// or SubjectKeyID does ([0] SubjectKeyIdentifier).
	Issuer          []byte
	SerialNumber    *big.Int
	SubjectKeyID    []byte
	DigestAlgorithm pki.AlgorithmIdentifier
	// SignedAttrs is the DER SET OF encoding of the signed attributes (tag
	// 0x31), as signed; nil when absent.
	SignedAttrs        []byte
	ContentType        asn1.ObjectIdentifier
	MessageDigest      []byte
	SigningTime        time.Time
	SignatureAlgorithm pki.AlgorithmIdentifier
	Signature          []byte
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

type encapContentInfo struct {
	EContentType asn1.ObjectIdentifier
	EContent     asn1.RawValue `asn1:"optional,explicit,tag:0"`
}

type signedData struct {
	Version          int
	DigestAlgorithms []pki.AlgorithmIdentifier `asn1:"set"`
	EncapContentInfo encapContentInfo
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

type signerInfo struct {
	Version            int
	SID                asn1.RawValue
	DigestAlgorithm    pki.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm pki.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue `asn1:"set"`
}

// ParseContentInfo parses a (BER or DER) CMS ContentInfo holding
// SignedData.
func ParseContentInfo(b []byte) (*SignedData, error) {
	der, err := ber.ToDER(b)
	if err != nil {
		return nil, malformed("CMS ContentInfo", err)
	}
	var ci contentInfo
	rest, err := asn1.Unmarshal(der, &ci)
	if err != nil {
		return nil, malformed("CMS ContentInfo", err)
	}
	if len(rest) != 0 {
		return nil, malformed("CMS ContentInfo: trailing data", nil)
	}
	if !ci.ContentType.Equal(OIDSignedData) {
		return nil, malformed(fmt.Sprintf("CMS content type %v is not signedData", ci.ContentType), nil)
	}
	return parseSignedData(ci.Content.Bytes)
}

func parseSignedData(der []byte) (*SignedData, error) {
	var sd signedData
	if _, err := asn1.Unmarshal(der, &sd); err != nil {
		return nil, malformed("SignedData", err)
	}
	out := &SignedData{DigestAlgorithms: sd.DigestAlgorithms, EContentType: sd.EncapContentInfo.EContentType}
	if len(sd.EncapContentInfo.EContent.Bytes) == 0 {
		return nil, malformed("SignedData without encapsulated content", nil)
	}
	var ec asn1.RawValue
	if _, err := asn1.Unmarshal(sd.EncapContentInfo.EContent.Bytes, &ec); err != nil {
		return nil, malformed("eContent", err)
	}
	if ec.Class != asn1.ClassUniversal || ec.Tag != asn1.TagOctetString {
		return nil, malformed("eContent is not an OCTET STRING", nil)
	}
	out.EContent = ec.Bytes
	if len(sd.Certificates.Bytes) > 0 {
		cur := sd.Certificates.Bytes
		for len(cur) > 0 {
			var rv asn1.RawValue
			r, err := asn1.Unmarshal(cur, &rv)
			if err != nil {
				return nil, malformed("SignedData certificates", err)
			}
			cur = r
			if rv.Class != asn1.ClassUniversal || rv.Tag != asn1.TagSequence {
				continue // attribute certificates and other choices are ignored
			}
			c, err := pki.ParseCertificate(rv.FullBytes)
			if err != nil {
				return nil, fmt.Errorf("lds: SignedData certificate: %w", err)
			}
			out.Certificates = append(out.Certificates, c)
		}
	}
	if len(sd.SignerInfos) == 0 {
		return nil, malformed("SignedData without SignerInfo", nil)
	}
	for i, si := range sd.SignerInfos {
		p, err := parseSignerInfo(si)
		if err != nil {
			return nil, fmt.Errorf("lds: SignerInfo %d: %w", i, err)
		}
		out.SignerInfos = append(out.SignerInfos, p)
	}
	return out, nil
}

func parseSignerInfo(si signerInfo) (SignerInfo, error) {
	out := SignerInfo{
		Version: si.Version, DigestAlgorithm: si.DigestAlgorithm,
		SignatureAlgorithm: si.SignatureAlgorithm, Signature: si.Signature,
	}
	switch {
	case si.SID.Class == asn1.ClassUniversal && si.SID.Tag == asn1.TagSequence:
		var ias issuerAndSerial
		if _, err := asn1.Unmarshal(si.SID.FullBytes, &ias); err != nil {
			return out, malformed("issuerAndSerialNumber", err)
		}
		out.Issuer, out.SerialNumber = ias.Issuer.FullBytes, ias.Serial
	case si.SID.Class == asn1.ClassContextSpecific && si.SID.Tag == 0:
		out.SubjectKeyID = si.SID.Bytes
	default:
		return out, malformed("unknown signer identifier", nil)
	}
	if len(si.SignedAttrs.FullBytes) > 0 {
		set := append([]byte(nil), si.SignedAttrs.FullBytes...)
		set[0] = 0x31 // [0] IMPLICIT → SET OF, as signed (RFC 5652 5.4)
		out.SignedAttrs = set
		cur := si.SignedAttrs.Bytes
		for len(cur) > 0 {
			var a attribute
			r, err := asn1.Unmarshal(cur, &a)
			if err != nil {
				return out, malformed("signed attribute", err)
			}
			cur = r
			var v asn1.RawValue
			if _, err := asn1.Unmarshal(a.Values.Bytes, &v); err != nil {
				return out, malformed("signed attribute value", err)
			}
			switch {
			case a.Type.Equal(OIDAttrContentType):
				if _, err := asn1.Unmarshal(v.FullBytes, &out.ContentType); err != nil {
					return out, malformed("contentType attribute", err)
				}
			case a.Type.Equal(OIDAttrMessageDigest):
				if _, err := asn1.Unmarshal(v.FullBytes, &out.MessageDigest); err != nil {
					return out, malformed("messageDigest attribute", err)
				}
			case a.Type.Equal(OIDAttrSigningTime):
				_, _ = asn1.Unmarshal(v.FullBytes, &out.SigningTime) // informative only
			}
		}
	}
	return out, nil
}

// ErrSignerNotFound is returned when no certificate matches the SignerInfo.
var ErrSignerNotFound = errors.New("lds: signer certificate not found in SignedData")

// SignerCertificate finds the certificate the SignerInfo designates among
// the SignedData's certificates.
func (sd *SignedData) SignerCertificate(si *SignerInfo) (*pki.Certificate, error) {
	for _, c := range sd.Certificates {
		if len(si.SubjectKeyID) > 0 {
			if bytes.Equal(c.SubjectKeyID, si.SubjectKeyID) {
				return c, nil
			}
			continue
		}
		if si.SerialNumber != nil && c.SerialNumber != nil && c.SerialNumber.Cmp(si.SerialNumber) == 0 &&
			(bytes.Equal(c.RawIssuer, si.Issuer) || nameString(c.RawIssuer) == nameString(si.Issuer)) {
			return c, nil
		}
	}
	return nil, ErrSignerNotFound
}

func nameString(der []byte) string { return pki.ParseName(der).String() }

// Errors returned by VerifySignerInfo, to branch on with errors.Is.
var (
	ErrContentType   = errors.New("lds: contentType attribute does not match eContentType")
	ErrMessageDigest = errors.New("lds: messageDigest does not match the encapsulated content")
	ErrNoSignedAttrs = errors.New("lds: SignerInfo has no signed attributes")
)

// VerifySignerInfo checks the SignerInfo with cert's key: the contentType
// attribute equals eContentType, messageDigest equals the digest of
// eContent, and the signature over the DER SET OF signed attributes
// verifies (RSA PKCS#1 v1.5, RSASSA-PSS or ECDSA).
func (sd *SignedData) VerifySignerInfo(si *SignerInfo, cert *pki.Certificate) error {
	if si.SignedAttrs == nil {
		return ErrNoSignedAttrs
	}
	if !si.ContentType.Equal(sd.EContentType) {
		return fmt.Errorf("%w: %v vs %v", ErrContentType, si.ContentType, sd.EContentType)
	}
	h := pki.HashByOID(si.DigestAlgorithm.Algorithm)
	if h == 0 || !h.Available() {
		return fmt.Errorf("%w: digest %v", pki.ErrUnsupported, si.DigestAlgorithm.Algorithm)
	}
	d := h.New()
	d.Write(sd.EContent)
	if !bytes.Equal(d.Sum(nil), si.MessageDigest) {
		return ErrMessageDigest
	}
	err := pki.VerifySignature(cert.PublicKey, si.SignatureAlgorithm, si.DigestAlgorithm.Algorithm, si.SignedAttrs, si.Signature)
	if err == nil || !errors.Is(err, pki.ErrSignature) {
		return err
	}
	// Some signers put the attributes in the SignerInfo unsorted but signed
	// the DER (sorted) SET OF; accept that encoding too.
	if sorted, ok := sortSetOf(si.SignedAttrs); ok && !bytes.Equal(sorted, si.SignedAttrs) {
		if pki.VerifySignature(cert.PublicKey, si.SignatureAlgorithm, si.DigestAlgorithm.Algorithm, sorted, si.Signature) == nil {
			return nil
		}
	}
	return err
}

// sortSetOf returns the DER ordering of a SET OF encoding.
func sortSetOf(set []byte) ([]byte, bool) {
	var rv asn1.RawValue
	if _, err := asn1.Unmarshal(set, &rv); err != nil {
		return nil, false
	}
	var elems [][]byte
	cur := rv.Bytes
	for len(cur) > 0 {
		var e asn1.RawValue
		r, err := asn1.Unmarshal(cur, &e)
		if err != nil {
			return nil, false
		}
		elems = append(elems, e.FullBytes)
		cur = r
	}
	sort.Slice(elems, func(i, j int) bool { return bytes.Compare(elems[i], elems[j]) < 0 })
	out := append([]byte{0x31}, ber.AppendLength(nil, len(rv.Bytes))...)
	for _, e := range elems {
		out = append(out, e...)
	}
	return out, true
}
