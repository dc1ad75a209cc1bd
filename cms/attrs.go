package cms

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
)

// OIDCMSAlgorithmProtection is the CMS algorithm protection attribute
// (RFC 6211).
var OIDCMSAlgorithmProtection = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 52}

// singleValued are the signed attributes that must carry exactly one value
// (RFC 5652 §11, RFC 2634 §5.4, RFC 5035 §3, RFC 6211 §2).
var singleValued = []struct {
	oid  asn1.ObjectIdentifier
	name string
}{
	{OIDContentType, "content-type"},
	{OIDMessageDigest, "message-digest"},
	{OIDSigningTime, "signing-time"},
	{OIDSigningCertificate, "signing-certificate"},
	{OIDSigningCertificateV2, "signing-certificate-v2"},
	{OIDCMSAlgorithmProtection, "CMS algorithm protection"},
}

// CheckSignedAttributes applies the rules on signed attributes that do not
// depend on the signer's certificate; a breach is an ErrFormat:
//   - an attribute appears at most once, and the single-valued ones
//     (content-type, message-digest, signing-time, signing-certificate,
//     signing-certificate-v2, CMS algorithm protection) have exactly one
//     value;
//   - a countersignature is never a signed attribute (RFC 5652 §11.4);
//   - a CMS algorithm protection attribute names the SignerInfo's own
//     digest and signature algorithms and no MAC algorithm (RFC 6211 §2-3),
//     so an algorithm substituted after signing is detected.
func (si *SignerInfo) CheckSignedAttributes() error {
	seen := map[string]bool{}
	for _, a := range si.SignedAttrs {
		k := a.Type.String()
		if seen[k] {
			return fmt.Errorf("%w: signed attribute %v repeated", ErrFormat, a.Type)
		}
		seen[k] = true
		if a.Type.Equal(OIDCounterSignature) {
			return fmt.Errorf("%w: a countersignature must be an unsigned attribute", ErrFormat)
		}
	}
	for _, sv := range singleValued {
		v, err := si.Signed(sv.oid)
		if err != nil {
			return err
		}
		if seen[sv.oid.String()] && len(v) != 1 {
			return fmt.Errorf("%w: the %s attribute has %d values, it must have one", ErrFormat, sv.name, len(v))
		}
	}
	v, _ := si.Signed(OIDCMSAlgorithmProtection)
	if len(v) == 1 {
		return si.checkAlgorithmProtection(v[0])
	}
	return nil
}

// algorithmProtection is CMSAlgorithmProtection (RFC 6211 §2).
type algorithmProtection struct {
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignatureAlgorithm pkix.AlgorithmIdentifier `asn1:"optional,tag:1"`
	MACAlgorithm       pkix.AlgorithmIdentifier `asn1:"optional,tag:2"`
}

func (si *SignerInfo) checkAlgorithmProtection(der []byte) error {
	var ap algorithmProtection
	if rest, err := asn1.Unmarshal(der, &ap); err != nil || len(rest) > 0 {
		return fmt.Errorf("%w: CMS algorithm protection attribute", ErrFormat)
	}
	switch {
	case ap.MACAlgorithm.Algorithm != nil:
		return fmt.Errorf("%w: CMS algorithm protection names a MAC algorithm in a signature", ErrFormat)
	case ap.SignatureAlgorithm.Algorithm == nil:
		return fmt.Errorf("%w: CMS algorithm protection names no signature algorithm", ErrFormat)
	case !sameAlgorithm(ap.DigestAlgorithm, si.DigestAlgorithm):
		return fmt.Errorf("%w: CMS algorithm protection names digest %v, the signer uses %v", ErrFormat, ap.DigestAlgorithm.Algorithm, si.DigestAlgorithm.Algorithm)
	case !sameAlgorithm(ap.SignatureAlgorithm, si.SignatureAlgorithm):
		return fmt.Errorf("%w: CMS algorithm protection names signature algorithm %v, the signer uses %v", ErrFormat, ap.SignatureAlgorithm.Algorithm, si.SignatureAlgorithm.Algorithm)
	}
	return nil
}

// sameAlgorithm compares algorithm identifiers, taking absent and NULL
// parameters as the same.
func sameAlgorithm(a, b pkix.AlgorithmIdentifier) bool {
	if !a.Algorithm.Equal(b.Algorithm) {
		return false
	}
	null := func(p asn1.RawValue) bool {
		return len(p.FullBytes) == 0 || bytes.Equal(p.FullBytes, asn1.NullBytes)
	}
	if null(a.Parameters) && null(b.Parameters) {
		return true
	}
	return bytes.Equal(a.Parameters.FullBytes, b.Parameters.FullBytes)
}
