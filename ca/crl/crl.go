// Package crl builds Kyso's partitioned certificate revocation lists. Each
// shard is a complete CRL (RFC 5280 section 5) for the certificates of one
// issuer whose serials were assigned to that shard at issuance; it carries a
// critical issuing distribution point extension naming the shard's own URL,
// so that a relying party cannot take one shard's CRL for another's.
//
// crypto/x509 signs the CRL; it has no issuing-distribution-point support,
// so the extension is encoded here with golang.org/x/crypto/cryptobyte.
package crl

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// OIDIssuingDistributionPoint is id-ce-issuingDistributionPoint.
var OIDIssuingDistributionPoint = asn1.ObjectIdentifier{2, 5, 29, 28}

// Scope says which certificates a CRL covers.
type Scope int

// Scopes.
const (
	// UserCerts: end-entity certificates only (an issuing CA's shards).
	UserCerts Scope = iota
	// CACerts: CA certificates only (the root's CRL).
	CACerts
	// All: both (a root that also issues responder certificates).
	All
)

// Entry is one revoked certificate.
type Entry struct {
	Serial    *big.Int
	RevokedAt time.Time
	// Reason is the RFC 5280 CRLReason code; 0 (unspecified) is omitted.
	Reason int
}

// Params describe one CRL.
type Params struct {
	Number     *big.Int
	ThisUpdate time.Time
	NextUpdate time.Time
	// URL is the shard's distribution point, put in the IDP extension.
	URL     string
	Scope   Scope
	Entries []Entry
}

// Build signs a CRL with the issuer's key and returns its DER.
func Build(issuer *x509.Certificate, signer crypto.Signer, p Params) ([]byte, error) {
	if p.Number == nil || p.Number.Sign() < 0 {
		return nil, errors.New("crl: number must be non-negative")
	}
	if !p.NextUpdate.After(p.ThisUpdate) {
		return nil, errors.New("crl: nextUpdate must follow thisUpdate")
	}
	idp, err := IDPExtension(p.URL, p.Scope)
	if err != nil {
		return nil, err
	}
	entries := make([]x509.RevocationListEntry, 0, len(p.Entries))
	for _, e := range p.Entries {
		entries = append(entries, x509.RevocationListEntry{
			SerialNumber:   e.Serial,
			RevocationTime: e.RevokedAt.UTC().Truncate(time.Second),
			ReasonCode:     e.Reason,
		})
	}
	tmpl := &x509.RevocationList{
		Number:                    p.Number,
		ThisUpdate:                p.ThisUpdate.UTC().Truncate(time.Second),
		NextUpdate:                p.NextUpdate.UTC().Truncate(time.Second),
		RevokedCertificateEntries: entries,
		ExtraExtensions:           []pkix.Extension{idp},
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, issuer, signer)
	if err != nil {
		return nil, fmt.Errorf("crl: sign: %w", err)
	}
	return der, nil
}

// IDPExtension encodes a critical issuingDistributionPoint with the URL as
// fullName and the scope's onlyContains flag.
//
//	IssuingDistributionPoint ::= SEQUENCE {
//	     distributionPoint          [0] DistributionPointName OPTIONAL,
//	     onlyContainsUserCerts      [1] BOOLEAN DEFAULT FALSE,
//	     onlyContainsCACerts        [2] BOOLEAN DEFAULT FALSE, ... }
//	DistributionPointName ::= CHOICE { fullName [0] GeneralNames, ... }
func IDPExtension(url string, scope Scope) (pkix.Extension, error) {
	if url == "" {
		return pkix.Extension{}, errors.New("crl: distribution point URL is empty")
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.Tag(6).ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddBytes([]byte(url))
				})
			})
		})
		switch scope {
		case UserCerts:
			b.AddASN1(cbasn1.Tag(1).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddUint8(0xff) })
		case CACerts:
			b.AddASN1(cbasn1.Tag(2).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddUint8(0xff) })
		}
	})
	der, err := b.Bytes()
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("crl: encode IDP: %w", err)
	}
	return pkix.Extension{Id: OIDIssuingDistributionPoint, Critical: true, Value: der}, nil
}

// IDP is a decoded issuing distribution point.
type IDP struct {
	URLs     []string
	OnlyUser bool
	OnlyCA   bool
}

// ParseIDP decodes an issuingDistributionPoint extension value (only the
// parts IDPExtension writes; other fields are skipped).
func ParseIDP(der []byte) (IDP, error) {
	var out IDP
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return out, errors.New("crl: IDP is not a SEQUENCE")
	}
	for !seq.Empty() {
		var field cryptobyte.String
		var tag cbasn1.Tag
		if !seq.ReadAnyASN1(&field, &tag) {
			return out, errors.New("crl: malformed IDP field")
		}
		switch tag {
		case cbasn1.Tag(0).ContextSpecific().Constructed():
			var names cryptobyte.String
			if !field.ReadASN1(&names, cbasn1.Tag(0).ContextSpecific().Constructed()) {
				continue // nameRelativeToCRLIssuer: not ours
			}
			for !names.Empty() {
				var name cryptobyte.String
				var nt cbasn1.Tag
				if !names.ReadAnyASN1(&name, &nt) {
					return out, errors.New("crl: malformed IDP general name")
				}
				if nt == cbasn1.Tag(6).ContextSpecific() {
					out.URLs = append(out.URLs, string(name))
				}
			}
		case cbasn1.Tag(1).ContextSpecific():
			out.OnlyUser = len(field) == 1 && field[0] != 0
		case cbasn1.Tag(2).ContextSpecific():
			out.OnlyCA = len(field) == 1 && field[0] != 0
		}
	}
	return out, nil
}

// Shard returns the shard of a serial among n: the serial modulo n.
func Shard(serial *big.Int, n int) int {
	if n <= 1 || serial == nil {
		return 0
	}
	return int(new(big.Int).Mod(serial, big.NewInt(int64(n))).Int64())
}
