package pki

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Certificate is the part of an X.509 certificate passive authentication
// needs.
type Certificate struct {
	Raw, RawTBS, RawIssuer, RawSubject, RawSPKI []byte

	SerialNumber        *big.Int
	SignatureAlgorithm  AlgorithmIdentifier
	Signature           []byte
	NotBefore, NotAfter time.Time
	Issuer, Subject     pkix.Name
	PublicKey           *PublicKey
	SubjectKeyID        []byte
	AuthorityKeyID      []byte
	IsCA                bool
	// HasBasicConstraints is true when the extension is present.
	HasBasicConstraints bool
	// KeyUsage holds the keyUsage bits (KeyUsageDigitalSignature, ...);
	// HasKeyUsage is false when the extension is absent.
	KeyUsage    KeyUsage
	HasKeyUsage bool
}

// KeyUsage is the X.509 keyUsage bit set, bit 0 (digitalSignature) first.
type KeyUsage uint16

// Key usage bits (RFC 5280 4.2.1.3).
const (
	KeyUsageDigitalSignature KeyUsage = 1 << iota
	KeyUsageNonRepudiation
	KeyUsageKeyEncipherment
	KeyUsageDataEncipherment
	KeyUsageKeyAgreement
	KeyUsageKeyCertSign
	KeyUsageCRLSign
	KeyUsageEncipherOnly
	KeyUsageDecipherOnly
)

type certificate struct {
	TBS       asn1.RawValue
	SigAlg    AlgorithmIdentifier
	Signature asn1.BitString
}

type tbsCertificate struct {
	Raw        asn1.RawContent
	Version    int `asn1:"optional,explicit,default:0,tag:0"`
	Serial     *big.Int
	SigAlg     AlgorithmIdentifier
	Issuer     asn1.RawValue
	Validity   struct{ NotBefore, NotAfter time.Time }
	Subject    asn1.RawValue
	SPKI       asn1.RawValue
	IssuerUID  asn1.BitString   `asn1:"optional,tag:1"`
	SubjectUID asn1.BitString   `asn1:"optional,tag:2"`
	Extensions []pkix.Extension `asn1:"optional,explicit,tag:3"`
}

// ParseCertificate parses one DER certificate.
func ParseCertificate(der []byte) (*Certificate, error) {
	var c certificate
	rest, err := asn1.Unmarshal(der, &c)
	if err != nil {
		return nil, fmt.Errorf("pki: certificate: %w", err)
	}
	if len(rest) != 0 {
		return nil, errors.New("pki: trailing data after certificate")
	}
	var t tbsCertificate
	if _, err := asn1.Unmarshal(c.TBS.FullBytes, &t); err != nil {
		return nil, fmt.Errorf("pki: tbsCertificate: %w", err)
	}
	out := &Certificate{
		Raw: der[:len(der)-len(rest)], RawTBS: c.TBS.FullBytes,
		RawIssuer: t.Issuer.FullBytes, RawSubject: t.Subject.FullBytes, RawSPKI: t.SPKI.FullBytes,
		SerialNumber: t.Serial, SignatureAlgorithm: c.SigAlg, Signature: c.Signature.RightAlign(),
		NotBefore: t.Validity.NotBefore, NotAfter: t.Validity.NotAfter,
	}
	out.Issuer = parseName(t.Issuer.FullBytes)
	out.Subject = parseName(t.Subject.FullBytes)
	pub, err := ParsePublicKey(t.SPKI.FullBytes)
	if err != nil {
		return nil, err
	}
	out.PublicKey = pub
	for _, e := range t.Extensions {
		switch {
		case e.Id.Equal(oidExtSKI):
			var ski []byte
			if _, err := asn1.Unmarshal(e.Value, &ski); err == nil {
				out.SubjectKeyID = ski
			}
		case e.Id.Equal(oidExtAKI):
			var aki struct {
				ID []byte `asn1:"optional,tag:0"`
			}
			if _, err := asn1.Unmarshal(e.Value, &aki); err == nil {
				out.AuthorityKeyID = aki.ID
			}
		case e.Id.Equal(oidExtBasicConstraints):
			var bc struct {
				IsCA bool `asn1:"optional"`
				Max  int  `asn1:"optional,default:-1"`
			}
			if _, err := asn1.Unmarshal(e.Value, &bc); err == nil {
				out.IsCA = bc.IsCA
				out.HasBasicConstraints = true
			} else {
				return nil, fmt.Errorf("pki: basicConstraints: %w", err)
			}
		case e.Id.Equal(oidExtKeyUsage):
			var bits asn1.BitString
			if _, err := asn1.Unmarshal(e.Value, &bits); err != nil {
				return nil, fmt.Errorf("pki: keyUsage: %w", err)
			}
			for i := 0; i < 9 && i < bits.BitLength; i++ {
				if bits.At(i) == 1 {
					out.KeyUsage |= 1 << i
				}
			}
			out.HasKeyUsage = true
		}
	}
	return out, nil
}

func parseName(der []byte) pkix.Name {
	var rdn pkix.RDNSequence
	var n pkix.Name
	if _, err := asn1.Unmarshal(der, &rdn); err == nil {
		n.FillFromRDNSequence(&rdn)
	}
	return n
}

// Fingerprint is the SHA-256 of the DER certificate, hex encoded.
func (c *Certificate) Fingerprint() string {
	s := sha256.Sum256(c.Raw)
	return hex.EncodeToString(s[:])
}

// CheckSignatureFrom verifies that parent's key signed c.
func (c *Certificate) CheckSignatureFrom(parent *Certificate) error {
	if err := VerifySignature(parent.PublicKey, c.SignatureAlgorithm, nil, c.RawTBS, c.Signature); err != nil {
		return fmt.Errorf("pki: certificate %q not signed by %q: %w", c.Subject.String(), parent.Subject.String(), err)
	}
	return nil
}

// MayHaveIssued is a cheap pre-filter: the issuer name matches parent's
// subject and, when both are present, the key identifiers match.
func (c *Certificate) MayHaveIssued(child *Certificate) bool {
	if !bytes.Equal(child.RawIssuer, c.RawSubject) && child.Issuer.String() != c.Subject.String() {
		return false
	}
	if len(child.AuthorityKeyID) > 0 && len(c.SubjectKeyID) > 0 && !bytes.Equal(child.AuthorityKeyID, c.SubjectKeyID) {
		return false
	}
	return true
}

// ValidAt reports whether t lies within the validity period.
func (c *Certificate) ValidAt(t time.Time) bool {
	return !t.Before(c.NotBefore) && !t.After(c.NotAfter)
}

// ParseName decodes a DER Name; undecodable names give the zero Name.
func ParseName(der []byte) pkix.Name { return parseName(der) }
