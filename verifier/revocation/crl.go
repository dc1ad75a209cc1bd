package revocation

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// CRL and CRL entry extensions (RFC 5280 §5.2, §5.3).
var (
	oidAuthorityKeyID    = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidCRLNumber         = asn1.ObjectIdentifier{2, 5, 29, 20}
	oidDeltaCRLIndicator = asn1.ObjectIdentifier{2, 5, 29, 27}
	oidIDP               = asn1.ObjectIdentifier{2, 5, 29, 28}
	oidFreshestCRL       = asn1.ObjectIdentifier{2, 5, 29, 46}
	oidAuthorityInfo     = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 1}
	// oidExpiredCertsOnCRL (X.509 §9.6.2.10): the CRL keeps revoked
	// certificates that expired on or after the given time.
	oidExpiredCertsOnCRL = asn1.ObjectIdentifier{2, 5, 29, 60}
	oidReasonCode        = asn1.ObjectIdentifier{2, 5, 29, 21}
	oidInvalidityDate    = asn1.ObjectIdentifier{2, 5, 29, 24}
	oidCertificateIssuer = asn1.ObjectIdentifier{2, 5, 29, 29}
)

// IDP is a decoded issuing distribution point extension (RFC 5280 §5.2.5).
type IDP struct {
	// HasName is set when distributionPoint is present.
	HasName bool
	// URLs are the fullName's uniformResourceIdentifier names.
	URLs []string
	// OtherNames counts fullName entries that are not URIs, or a
	// nameRelativeToCRLIssuer.
	OtherNames         int
	OnlyUser, OnlyCA   bool
	OnlySomeReasons    bool
	Indirect           bool
	OnlyAttributeCerts bool
}

func readBool(field cryptobyte.String) (bool, error) {
	// Implicitly tagged BOOLEAN: one content octet, DER TRUE is 0xff.
	if len(field) != 1 || (field[0] != 0 && field[0] != 0xff) {
		return false, errors.New("malformed BOOLEAN")
	}
	return field[0] == 0xff, nil
}

// ParseIDP decodes an issuingDistributionPoint extension value.
func ParseIDP(der []byte) (IDP, error) {
	var out IDP
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return out, errors.New("issuing distribution point is not a SEQUENCE")
	}
	for !seq.Empty() {
		var field cryptobyte.String
		var tag cbasn1.Tag
		if !seq.ReadAnyASN1(&field, &tag) {
			return out, errors.New("malformed issuing distribution point")
		}
		var err error
		switch tag {
		case cbasn1.Tag(0).ContextSpecific().Constructed():
			out.HasName = true
			var names cryptobyte.String
			var nameTag cbasn1.Tag
			if !field.ReadAnyASN1(&names, &nameTag) || !field.Empty() {
				return out, errors.New("malformed distribution point name")
			}
			if nameTag != cbasn1.Tag(0).ContextSpecific().Constructed() {
				out.OtherNames++ // nameRelativeToCRLIssuer
				continue
			}
			for !names.Empty() {
				var name cryptobyte.String
				var nt cbasn1.Tag
				if !names.ReadAnyASN1(&name, &nt) {
					return out, errors.New("malformed distribution point general name")
				}
				if nt == cbasn1.Tag(6).ContextSpecific() {
					out.URLs = append(out.URLs, string(name))
				} else {
					out.OtherNames++
				}
			}
		case cbasn1.Tag(1).ContextSpecific():
			out.OnlyUser, err = readBool(field)
		case cbasn1.Tag(2).ContextSpecific():
			out.OnlyCA, err = readBool(field)
		case cbasn1.Tag(3).ContextSpecific():
			out.OnlySomeReasons = true
		case cbasn1.Tag(4).ContextSpecific():
			out.Indirect, err = readBool(field)
		case cbasn1.Tag(5).ContextSpecific():
			out.OnlyAttributeCerts, err = readBool(field)
		default:
			return out, fmt.Errorf("unknown issuing distribution point field %v", tag)
		}
		if err != nil {
			return out, fmt.Errorf("issuing distribution point: %w", err)
		}
	}
	return out, nil
}

// crlScope checks that crl applies to cert per RFC 5280 §6.3.3 (b) and
// returns the CRL's ExpiredCertsOnCRL time, if any.
func crlScope(crl *x509.RevocationList, cert *x509.Certificate) (time.Time, error) {
	var expiredOn time.Time
	for _, e := range crl.Extensions {
		switch {
		case e.Id.Equal(oidIDP):
			idp, err := ParseIDP(e.Value)
			if err != nil {
				return expiredOn, err
			}
			if err := idpCovers(idp, cert); err != nil {
				return expiredOn, err
			}
		case e.Id.Equal(oidDeltaCRLIndicator):
			return expiredOn, errors.New("delta CRLs are not supported")
		case e.Id.Equal(oidExpiredCertsOnCRL):
			var t time.Time
			if rest, err := asn1.UnmarshalWithParams(e.Value, &t, "generalized"); err != nil || len(rest) > 0 {
				return expiredOn, errors.New("malformed ExpiredCertsOnCRL")
			}
			expiredOn = t
		case e.Id.Equal(oidAuthorityKeyID), e.Id.Equal(oidCRLNumber), e.Id.Equal(oidFreshestCRL), e.Id.Equal(oidAuthorityInfo):
		default:
			if e.Critical {
				return expiredOn, fmt.Errorf("unknown critical CRL extension %v", e.Id)
			}
		}
	}
	for _, entry := range crl.RevokedCertificateEntries {
		for _, e := range entry.Extensions {
			switch {
			case e.Id.Equal(oidCertificateIssuer):
				return expiredOn, errors.New("indirect CRL entries (certificateIssuer) are not supported")
			case e.Id.Equal(oidReasonCode), e.Id.Equal(oidInvalidityDate):
			default:
				if e.Critical {
					return expiredOn, fmt.Errorf("unknown critical CRL entry extension %v", e.Id)
				}
			}
		}
	}
	return expiredOn, nil
}

// idpCovers says whether a CRL with this issuing distribution point covers
// cert: the CRL must be direct, cover every reason, match the certificate
// type and, when it names a distribution point, one the certificate names.
func idpCovers(idp IDP, cert *x509.Certificate) error {
	switch {
	case idp.Indirect:
		return errors.New("indirect CRLs are not supported")
	case idp.OnlySomeReasons:
		return errors.New("the CRL covers only some revocation reasons")
	case idp.OnlyAttributeCerts:
		return errors.New("the CRL covers attribute certificates only")
	case idp.OnlyUser && idp.OnlyCA:
		return errors.New("the CRL's scope is empty")
	case idp.OnlyUser && cert.IsCA:
		return errors.New("the CRL covers end-entity certificates only and the certificate is a CA")
	case idp.OnlyCA && !cert.IsCA:
		return errors.New("the CRL covers CA certificates only and the certificate is not a CA")
	}
	if !idp.HasName {
		return nil
	}
	for _, u := range idp.URLs {
		if slices.Contains(cert.CRLDistributionPoints, u) {
			return nil
		}
	}
	return fmt.Errorf("the CRL's distribution point %v is not one of the certificate's %v", idp.URLs, cert.CRLDistributionPoints)
}

// fromCRL turns a CRL into a candidate for cert, or says why it does not
// apply.
func fromCRL(der []byte, cert, issuer *x509.Certificate, source string) (*candidate, error) {
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(crl.RawIssuer, cert.RawIssuer) {
		return nil, errNotForCert
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		return nil, fmt.Errorf("CRL signature: %w", err)
	}
	expiredOn, err := crlScope(crl, cert)
	if err != nil {
		return nil, err
	}
	c := &candidate{source: source, thisUpdate: crl.ThisUpdate.UTC(), nextUpdate: crl.NextUpdate.UTC(), status: Good}
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber != nil && e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			c.status, c.revokedAt, c.reason = Revoked, e.RevocationTime.UTC(), e.ReasonCode
			return c, nil
		}
	}
	// A CRL says nothing about certificates that expired before it was
	// issued unless it promises to keep them (ExpiredCertsOnCRL).
	if c.thisUpdate.After(cert.NotAfter) && (expiredOn.IsZero() || expiredOn.After(cert.NotAfter)) {
		return nil, fmt.Errorf("CRL of %s issued after the certificate expired (%s) without ExpiredCertsOnCRL covering it", stamp(c.thisUpdate), stamp(cert.NotAfter))
	}
	return c, nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
