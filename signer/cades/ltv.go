package cades

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"fmt"

	"kyso/cms"
)

// RevocationSource gives current OCSP responses and CRLs.
type RevocationSource interface {
	OCSP(ctx context.Context, cert, issuer *x509.Certificate) ([]byte, error)
	CRLs(ctx context.Context, cert *x509.Certificate) ([][]byte, error)
}

// ValidationData is what long-term (B-LT) signatures carry: certificates
// (DER), OCSP responses (DER OCSPResponse) and CRLs (DER).
type ValidationData struct {
	Certs, OCSPs, CRLs [][]byte
}

func (vd *ValidationData) add(list *[][]byte, seen map[[32]byte]bool, items ...[]byte) {
	for _, it := range items {
		k := sha256.Sum256(it)
		if len(it) == 0 || seen[k] {
			continue
		}
		seen[k] = true
		*list = append(*list, it)
	}
}

// CollectValidationData gathers certs (the signer's first, then its chain,
// the root and any time-stamp certificates) and revocation information for
// each of them. The signer certificate's revocation information is
// required; the others are best effort.
func CollectValidationData(ctx context.Context, rev RevocationSource, certs []*x509.Certificate) (*ValidationData, error) {
	return collectValidationData(ctx, rev, certs, true)
}

// collectValidationData is CollectValidationData; requireFirst says
// whether the first certificate's revocation information is required.
func collectValidationData(ctx context.Context, rev RevocationSource, certs []*x509.Certificate, requireFirst bool) (*ValidationData, error) {
	vd := &ValidationData{}
	seen := map[[32]byte]bool{}
	for _, c := range certs {
		vd.add(&vd.Certs, seen, c.Raw)
	}
	for i, c := range certs {
		if bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil {
			continue // a root
		}
		var issuer *x509.Certificate
		for _, cand := range certs {
			if c.CheckSignatureFrom(cand) == nil {
				issuer = cand
				break
			}
		}
		got := false
		if issuer != nil {
			resp, err := rev.OCSP(ctx, c, issuer)
			if err == nil && len(resp) > 0 {
				vd.add(&vd.OCSPs, seen, resp)
				got = true
			} else if i == 0 && requireFirst {
				return nil, fmt.Errorf("cades: OCSP response for the signer certificate: %w", err)
			}
		}
		if crls, err := rev.CRLs(ctx, c); err == nil {
			vd.add(&vd.CRLs, seen, crls...)
			got = got || len(crls) > 0
		}
		if i == 0 && requireFirst && !got {
			return nil, fmt.Errorf("cades: no revocation information for the signer certificate")
		}
	}
	return vd, nil
}

// TokenCertificates returns the certificates inside the signature
// time-stamp of a CMS signature, if any.
func TokenCertificates(der []byte) []*x509.Certificate {
	sd, err := cms.Parse(der)
	if err != nil {
		return nil
	}
	tok := sd.TimeStampToken()
	if tok == nil {
		return nil
	}
	ts, err := cms.Parse(tok)
	if err != nil {
		return nil
	}
	return ts.Certificates
}

// AddValidationData returns the CMS with vd's certificates added to
// SignedData.certificates and its CRLs and OCSP responses (RFC 5940
// other revocation information) to SignedData.crls, as CAdES B-LT places
// them. Neither field is signed, so the signature stays valid.
func AddValidationData(der []byte, vd *ValidationData) ([]byte, error) {
	return cms.AddValidationData(der, vd.Certs, vd.CRLs, vd.OCSPs)
}
