package profile

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"
)

// CAParams are the values of a CA certificate.
type CAParams struct {
	Subject   pkix.Name
	PublicKey crypto.PublicKey
	Serial    *big.Int
	NotBefore time.Time
	NotAfter  time.Time
	// CRLURL and CAIssuersURL are the root's CRL and certificate (issuing
	// CAs only).
	CRLURL       string
	CAIssuersURL string
	// Issues is what an issuing CA issues: its certificatePolicies assert
	// the explicit policy OIDs (never anyPolicy) of those profiles and of
	// the OCSP responder it certifies (see Policies). The root asserts
	// none.
	Issues Issuer
	// PolicyArc overrides DefaultPolicyArc.
	PolicyArc asn1.ObjectIdentifier
}

// Policies returns the certificate-policy OIDs under arc
// (DefaultPolicyArc when nil) of the profiles issuer issues, the OCSP
// responder's included since every CA certifies its own delegated
// responder, in suffix order.
func Policies(issuer Issuer, arc asn1.ObjectIdentifier) []asn1.ObjectIdentifier {
	if len(arc) == 0 {
		arc = DefaultPolicyArc
	}
	var out []asn1.ObjectIdentifier
	for _, s := range specs() {
		if s.Issuer == issuer || s.Name == OCSPResponder {
			out = append(out, append(append(asn1.ObjectIdentifier{}, arc...), s.PolicySuffix))
		}
	}
	return out
}

// RootTemplate is the self-signed root: basicConstraints CA without a path
// length, keyCertSign and cRLSign.
func RootTemplate(p CAParams) (*x509.Certificate, error) {
	skid, err := KeyID(p.PublicKey)
	if err != nil {
		return nil, err
	}
	return &x509.Certificate{
		SerialNumber:          p.Serial,
		Subject:               p.Subject,
		NotBefore:             p.NotBefore.UTC().Truncate(time.Second),
		NotAfter:              p.NotAfter.UTC().Truncate(time.Second),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            -1,
		SubjectKeyId:          skid,
		AuthorityKeyId:        skid,
		PublicKey:             p.PublicKey,
	}, nil
}

// IssuingTemplate is an issuing CA under the root: path length 0,
// keyCertSign, cRLSign and digitalSignature (for the CA's own OCSP
// responses about its responder-less cases), the root's CRL and
// certificate URLs, and the policies of what it issues (p.Issues).
func IssuingTemplate(p CAParams) (*x509.Certificate, error) {
	skid, err := KeyID(p.PublicKey)
	if err != nil {
		return nil, err
	}
	t := &x509.Certificate{
		SerialNumber:          p.Serial,
		Subject:               p.Subject,
		NotBefore:             p.NotBefore.UTC().Truncate(time.Second),
		NotAfter:              p.NotAfter.UTC().Truncate(time.Second),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		SubjectKeyId:          skid,
		PublicKey:             p.PublicKey,
	}
	if p.CRLURL != "" {
		t.CRLDistributionPoints = []string{p.CRLURL}
	}
	if p.CAIssuersURL != "" {
		t.IssuingCertificateURL = []string{p.CAIssuersURL}
	}
	if p.Issues != "" {
		// Both fields: x509.CreateCertificate encodes Policies, and
		// PolicyIdentifiers is what older readers look at.
		for _, oid := range Policies(p.Issues, p.PolicyArc) {
			o, err := x509.OIDFromInts(toUint64(oid))
			if err != nil {
				return nil, fmt.Errorf("profile: policy %s: %w", oid, err)
			}
			t.Policies = append(t.Policies, o)
			t.PolicyIdentifiers = append(t.PolicyIdentifiers, oid)
		}
	}
	return t, nil
}

func toUint64(oid asn1.ObjectIdentifier) []uint64 {
	out := make([]uint64, len(oid))
	for i, n := range oid {
		out[i] = uint64(n)
	}
	return out
}
