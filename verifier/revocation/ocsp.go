package revocation

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"

	"kyso/hashoid"
)

// OCSP extensions (RFC 6960 §4.4).
var (
	oidOCSPNonce         = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}
	oidOCSPArchiveCutoff = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 6}
	// OIDOCSPNoCheck is id-pkix-ocsp-nocheck: a delegated responder's own
	// certificate needs no revocation check.
	OIDOCSPNoCheck        = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}
	oidOCSPExtendedRevoke = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 9}
)

type certID struct {
	HashAlgorithm  pkix.AlgorithmIdentifier
	IssuerNameHash []byte
	IssuerKeyHash  []byte
	SerialNumber   *big.Int
}

type singleResponse struct {
	CertID     certID
	Status     asn1.RawValue
	ThisUpdate time.Time        `asn1:"generalized"`
	NextUpdate time.Time        `asn1:"generalized,explicit,tag:0,optional"`
	Extensions []pkix.Extension `asn1:"explicit,tag:1,optional"`
}

type responseData struct {
	Version            int `asn1:"optional,explicit,default:0,tag:0"`
	ResponderID        asn1.RawValue
	ProducedAt         time.Time `asn1:"generalized"`
	Responses          []singleResponse
	ResponseExtensions []pkix.Extension `asn1:"explicit,tag:1,optional"`
}

// ocspData is what golang.org/x/crypto/ocsp does not take from the right
// place: the one SingleResponse whose CertID names the certificate (serial
// and issuer hashes) and the response extensions.
type ocspData struct {
	status                 int // ocsp.Good, ocsp.Revoked or ocsp.Unknown
	thisUpdate, nextUpdate time.Time
	revokedAt              time.Time
	reason                 int
	producedAt             time.Time
	archiveCutoff          time.Time
}

// revokedInfo is RevokedInfo (RFC 6960 §4.2.1).
type revokedInfo struct {
	RevocationTime time.Time       `asn1:"generalized"`
	Reason         asn1.Enumerated `asn1:"explicit,tag:0,optional"`
}

// parseResponseData finds the single response about the certificate with
// serial issued by issuer: its CertID must carry the serial and the
// issuer's name and key hashes (in whichever hash algorithm the CertID
// names). Entries with the serial but another issuer are about another
// certificate and ignored; several entries about the certificate refuse
// the response, since they could disagree. It also decodes the response
// extensions.
func parseResponseData(tbs []byte, serial *big.Int, issuer *x509.Certificate) (ocspData, error) {
	var out ocspData
	var rd responseData
	if rest, err := asn1.Unmarshal(tbs, &rd); err != nil || len(rest) > 0 {
		return out, errors.New("malformed OCSP ResponseData")
	}
	var match *singleResponse
	for i, s := range rd.Responses {
		if s.CertID.SerialNumber == nil || s.CertID.SerialNumber.Cmp(serial) != 0 {
			continue
		}
		h, ok := hashoid.Hash(s.CertID.HashAlgorithm.Algorithm)
		if !ok || !h.Available() {
			continue // cannot name this issuer
		}
		name, key := issuerHashes(h, issuer)
		if !bytes.Equal(name, s.CertID.IssuerNameHash) || !bytes.Equal(key, s.CertID.IssuerKeyHash) {
			continue
		}
		if match != nil {
			return out, errors.New("OCSP response has several single responses about the certificate")
		}
		match = &rd.Responses[i]
	}
	if match == nil {
		return out, errNotForCert
	}
	for _, e := range match.Extensions {
		if e.Critical {
			return out, fmt.Errorf("unknown critical OCSP single response extension %v", e.Id)
		}
	}
	out.thisUpdate, out.nextUpdate, out.producedAt = match.ThisUpdate.UTC(), match.NextUpdate.UTC(), rd.ProducedAt.UTC()
	st := match.Status
	switch {
	case st.Class == asn1.ClassContextSpecific && st.Tag == 0 && !st.IsCompound && len(st.Bytes) == 0:
		out.status = ocsp.Good
	case st.Class == asn1.ClassContextSpecific && st.Tag == 1 && st.IsCompound:
		var ri revokedInfo
		if rest, err := asn1.UnmarshalWithParams(st.FullBytes, &ri, "tag:1"); err != nil || len(rest) > 0 {
			return out, errors.New("malformed OCSP RevokedInfo")
		}
		out.status, out.revokedAt, out.reason = ocsp.Revoked, ri.RevocationTime.UTC(), int(ri.Reason)
	case st.Class == asn1.ClassContextSpecific && st.Tag == 2:
		out.status = ocsp.Unknown
	default:
		return out, errors.New("malformed OCSP CertStatus")
	}
	for _, e := range rd.ResponseExtensions {
		switch {
		case e.Id.Equal(oidOCSPArchiveCutoff):
			var t time.Time
			if rest, err := asn1.UnmarshalWithParams(e.Value, &t, "generalized"); err != nil || len(rest) > 0 {
				return out, errors.New("malformed OCSP archive cutoff")
			}
			out.archiveCutoff = t.UTC()
		case e.Id.Equal(oidOCSPNonce), e.Id.Equal(oidOCSPExtendedRevoke):
		default:
			if e.Critical {
				return out, fmt.Errorf("unknown critical OCSP response extension %v", e.Id)
			}
		}
	}
	return out, nil
}

// issuerHashes returns the CertID issuerNameHash and issuerKeyHash of issuer.
func issuerHashes(h crypto.Hash, issuer *x509.Certificate) ([]byte, []byte) {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	asn1.Unmarshal(issuer.RawSubjectPublicKeyInfo, &spki)
	n := h.New()
	n.Write(issuer.RawSubject)
	k := h.New()
	k.Write(spki.PublicKey.RightAlign())
	return n.Sum(nil), k.Sum(nil)
}

// responderCheck decides whether a delegated responder certificate may be
// trusted; it is given the responder and the time the response was
// produced, and returns nil when the responder's own status is acceptable.
type responderCheck func(responder *x509.Certificate, at time.Time) error

// fromOCSP turns an OCSP response into a candidate for cert. The response
// must be signed by the issuer itself or by a responder certificate the
// issuer issued with id-kp-OCSPSigning, valid when the response was
// produced, and either marked id-pkix-ocsp-nocheck or shown unrevoked by
// checkResponder.
func fromOCSP(der []byte, cert, issuer *x509.Certificate, source string, checkResponder responderCheck) (*candidate, error) {
	resp, err := ocsp.ParseResponseForCert(der, cert, issuer)
	if err != nil {
		if strings.Contains(err.Error(), "no response matching") {
			return nil, errNotForCert
		}
		return nil, err
	}
	if resp.SerialNumber == nil || resp.SerialNumber.Cmp(cert.SerialNumber) != 0 {
		return nil, errNotForCert
	}
	data, err := parseResponseData(resp.TBSResponseData, cert.SerialNumber, issuer)
	if err != nil {
		return nil, err
	}
	if r := resp.Certificate; r != nil && !bytes.Equal(r.Raw, issuer.Raw) {
		// Delegated responder (RFC 6960 §4.2.2.2); ParseResponseForCert
		// checked that the issuer signed its certificate.
		if !slices.Contains(r.ExtKeyUsage, x509.ExtKeyUsageOCSPSigning) {
			return nil, errors.New("responder certificate lacks id-kp-OCSPSigning")
		}
		if resp.ProducedAt.Before(r.NotBefore) || resp.ProducedAt.After(r.NotAfter) {
			return nil, fmt.Errorf("responder certificate not valid when the response was produced (%s)", stamp(resp.ProducedAt))
		}
		if !hasExtension(r, OIDOCSPNoCheck) {
			if checkResponder == nil {
				return nil, errors.New("responder certificate has no id-pkix-ocsp-nocheck and its status cannot be checked")
			}
			if err := checkResponder(r, resp.ProducedAt); err != nil {
				return nil, fmt.Errorf("responder certificate: %w", err)
			}
		}
	}
	// Status and times come from the single response about cert, not
	// from the first one with its serial that ParseResponseForCert picks.
	c := &candidate{source: source, thisUpdate: data.thisUpdate, nextUpdate: data.nextUpdate, producedAt: data.producedAt}
	switch data.status {
	case ocsp.Revoked:
		c.status, c.revokedAt, c.reason = Revoked, data.revokedAt, data.reason
		return c, nil
	case ocsp.Good:
		c.status = Good
	default:
		return nil, errors.New("status unknown")
	}
	// Responders may forget expired certificates (RFC 6960 §4.4.4): a
	// "good" about an expired certificate counts only under an archive
	// cutoff that still covers it.
	if c.thisUpdate.After(cert.NotAfter) && (data.archiveCutoff.IsZero() || data.archiveCutoff.After(cert.NotAfter)) {
		return nil, fmt.Errorf("response of %s about a certificate expired %s without an archive cutoff covering it", stamp(c.thisUpdate), stamp(cert.NotAfter))
	}
	return c, nil
}

func hasExtension(c *x509.Certificate, oid asn1.ObjectIdentifier) bool {
	for _, e := range c.Extensions {
		if e.Id.Equal(oid) {
			return true
		}
	}
	return false
}
