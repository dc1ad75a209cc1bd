package profile

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
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
	// PolicyArc overrides DefaultPolicyArc (issuing CAs assert the arc's
	// policies through anyPolicy-free explicit OIDs).
	PolicyArc []int
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
// certificate URLs.
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
	return t, nil
}
