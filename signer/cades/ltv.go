package cades

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
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
			} else if i == 0 {
				return nil, fmt.Errorf("cades: OCSP response for the signer certificate: %w", err)
			}
		}
		if crls, err := rev.CRLs(ctx, c); err == nil {
			vd.add(&vd.CRLs, seen, crls...)
			got = got || len(crls) > 0
		}
		if i == 0 && !got {
			return nil, fmt.Errorf("cades: no revocation information for the signer certificate")
		}
	}
	return vd, nil
}

// TokenCertificates returns the certificates inside the signature
// time-stamp of a CMS signature, if any.
func TokenCertificates(cms []byte) []*x509.Certificate {
	info, err := Parse(cms)
	if err != nil || len(info.TimeStampToken) == 0 {
		return nil
	}
	tok, err := Parse(info.TimeStampToken)
	if err != nil {
		return nil
	}
	return tok.Certificates
}

// oidOCSPResponseFormat is id-ri-ocsp-response (RFC 5940).
var oidOCSPResponseFormat = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 16, 2}

// AddValidationData returns the CMS with vd's certificates added to
// SignedData.certificates and its CRLs and OCSP responses (RFC 5940
// other revocation information) to SignedData.crls, as CAdES B-LT places
// them. Neither field is signed, so the signature stays valid.
func AddValidationData(cms []byte, vd *ValidationData) ([]byte, error) {
	in := cryptobyte.String(cms)
	var ci, explicit, sd cryptobyte.String
	var ct asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.ReadASN1ObjectIdentifier(&ct) || !ct.Equal(OIDSignedData) ||
		!ci.ReadASN1(&explicit, cbasn1.Tag(0).Constructed().ContextSpecific()) || !explicit.ReadASN1(&sd, cbasn1.SEQUENCE) {
		return nil, errMalformed
	}
	var version, digestAlgs, encap cryptobyte.String
	var vTag cbasn1.Tag
	if !sd.ReadAnyASN1Element(&version, &vTag) || !sd.ReadASN1Element(&digestAlgs, cbasn1.SET) || !sd.ReadASN1Element(&encap, cbasn1.SEQUENCE) {
		return nil, errMalformed
	}
	var certs, crls cryptobyte.String
	var hasCerts, hasCRLs bool
	if !sd.ReadOptionalASN1(&certs, &hasCerts, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!sd.ReadOptionalASN1(&crls, &hasCRLs, cbasn1.Tag(1).Constructed().ContextSpecific()) {
		return nil, errMalformed
	}
	signerInfos := sd // the rest: the SET of SignerInfo
	seen := map[[32]byte]bool{}
	existing := certs
	for !existing.Empty() {
		var el cryptobyte.String
		var tag cbasn1.Tag
		if !existing.ReadAnyASN1Element(&el, &tag) {
			return nil, errMalformed
		}
		seen[sha256.Sum256(el)] = true
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addOID(b, OIDSignedData)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				if len(vd.OCSPs) > 0 {
					b.AddASN1Int64(5) // other revocation formats need version 5 (RFC 5652, 5.1)
				} else {
					b.AddBytes(version)
				}
				b.AddBytes(digestAlgs)
				b.AddBytes(encap)
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddBytes(certs)
					for _, c := range vd.Certs {
						if k := sha256.Sum256(c); !seen[k] {
							seen[k] = true
							b.AddBytes(c)
						}
					}
				})
				if hasCRLs || len(vd.CRLs)+len(vd.OCSPs) > 0 {
					b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
						b.AddBytes(crls)
						for _, c := range vd.CRLs {
							b.AddBytes(c)
						}
						for _, o := range vd.OCSPs {
							// OtherRevocationInfoFormat ::= [1] IMPLICIT SEQUENCE { format, info }
							b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
								addOID(b, oidOCSPResponseFormat)
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
