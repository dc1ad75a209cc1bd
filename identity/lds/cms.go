package lds

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"fmt"

	"kyso/cms"
	"kyso/identity/pki"
)

// CMS and ICAO object identifiers. The CMS ones are the cms package's.
var (
	OIDSignedData        = cms.OIDSignedData
	OIDAttrContentType   = cms.OIDContentType
	OIDAttrMessageDigest = cms.OIDMessageDigest
	OIDAttrSigningTime   = cms.OIDSigningTime
	// OIDLDSSecurityObject is id-icao-mrtd-security-ldsSecurityObject.
	OIDLDSSecurityObject = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 1}
	// OIDCSCAMasterList is id-icao-cscaMasterList.
	OIDCSCAMasterList = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 2}
)

// signedObject is a CMS SignedData with one signer, as EF.SOD and CSCA
// master lists are, read by the cms package (BER or DER).
type signedObject struct {
	sd     *cms.SignedData
	signer *cms.SignerInfo
	cert   *pki.Certificate
}

// parseSigned parses a (BER or DER) ContentInfo holding SignedData with
// encapsulated content and exactly one SignerInfo, and finds the signer's
// certificate among those carried.
func parseSigned(b []byte, what string) (*signedObject, error) {
	der, err := cms.ToDER(b)
	if err != nil {
		return nil, malformed(what, err)
	}
	sd, err := cms.Parse(der)
	if err != nil {
		return nil, malformed(what, err)
	}
	if sd.EContent == nil {
		return nil, malformed(what+": SignedData without encapsulated content", nil)
	}
	if len(sd.Signers) != 1 {
		return nil, malformed(fmt.Sprintf("%s has %d SignerInfos, want 1", what, len(sd.Signers)), nil)
	}
	si := sd.Signers[0]
	cert, err := signerCertificate(sd, si)
	if err != nil {
		return nil, err
	}
	return &signedObject{sd: sd, signer: si, cert: cert}, nil
}

// ErrSignerNotFound is returned when no certificate matches the SignerInfo.
var ErrSignerNotFound = errors.New("lds: signer certificate not found in SignedData")

// signerCertificate finds the certificate the SignerInfo designates. Issuer
// names match byte for byte or, for issuers that re-encode names (string
// types), by their parsed form.
func signerCertificate(sd *cms.SignedData, si *cms.SignerInfo) (*pki.Certificate, error) {
	for _, x := range sd.Certificates {
		match := si.Matches(x)
		if !match && si.SubjectKeyID == nil && si.Serial != nil && x.SerialNumber != nil && x.SerialNumber.Cmp(si.Serial) == 0 {
			match = pki.ParseName(x.RawIssuer).String() == pki.ParseName(si.IssuerRaw).String()
		}
		if !match {
			continue
		}
		c, err := pki.ParseCertificate(x.Raw)
		if err != nil {
			return nil, fmt.Errorf("lds: signer certificate: %w", err)
		}
		return c, nil
	}
	return nil, ErrSignerNotFound
}

// Errors returned by signature checks, to branch on with errors.Is.
var (
	ErrContentType   = errors.New("lds: contentType attribute does not match eContentType")
	ErrMessageDigest = errors.New("lds: messageDigest does not match the encapsulated content")
	ErrNoSignedAttrs = errors.New("lds: SignerInfo has no signed attributes")
)

// verify checks the SignerInfo with the signer certificate's key: the
// contentType attribute equals eContentType, messageDigest equals the
// digest of eContent, and the signature over the DER SET OF signed
// attributes verifies (RSA PKCS#1 v1.5, RSASSA-PSS or ECDSA, on explicit
// and brainpool curves too).
func (o *signedObject) verify() error {
	si, sd := o.signer, o.sd
	if si.SignedAttrsDER == nil {
		return ErrNoSignedAttrs
	}
	ct, err := si.ContentType()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrContentType, err)
	}
	if !ct.Equal(sd.EContentType) {
		return fmt.Errorf("%w: %v vs %v", ErrContentType, ct, sd.EContentType)
	}
	h := pki.HashByOID(si.DigestAlgorithm.Algorithm)
	if h == 0 || !h.Available() {
		return fmt.Errorf("%w: digest %v", pki.ErrUnsupported, si.DigestAlgorithm.Algorithm)
	}
	md, err := si.MessageDigest()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMessageDigest, err)
	}
	d := h.New()
	d.Write(sd.EContent)
	if !bytes.Equal(d.Sum(nil), md) {
		return ErrMessageDigest
	}
	err = pki.VerifySignature(o.cert.PublicKey, si.SignatureAlgorithm, si.DigestAlgorithm.Algorithm, si.SignedAttrsDER, si.Signature)
	if err == nil || !errors.Is(err, pki.ErrSignature) {
		return err
	}
	// Some signers put the attributes in the SignerInfo unsorted but signed
	// the DER (sorted) SET OF; accept that encoding too.
	if sorted, ok := sortSetOf(si.SignedAttrsDER); ok && !bytes.Equal(sorted, si.SignedAttrsDER) {
		if pki.VerifySignature(o.cert.PublicKey, si.SignatureAlgorithm, si.DigestAlgorithm.Algorithm, sorted, si.Signature) == nil {
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
	for cur := rv.Bytes; len(cur) > 0; {
		var e asn1.RawValue
		r, err := asn1.Unmarshal(cur, &e)
		if err != nil {
			return nil, false
		}
		elems = append(elems, e.FullBytes)
		cur = r
	}
	sorted, err := cms.AttributeSet(elems)
	return sorted, err == nil
}
