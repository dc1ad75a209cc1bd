package ocspresp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	"golang.org/x/crypto/ocsp"

	"kyso/hashoid"
)

// CertID names one certificate in a request or a response (RFC 6960
// §4.1.1).
type CertID struct {
	HashAlgorithm  crypto.Hash
	IssuerNameHash []byte
	IssuerKeyHash  []byte
	Serial         *big.Int
}

// SingleResponse is the status of one certificate (RFC 6960 §4.2.1).
type SingleResponse struct {
	CertID
	// Status is ocsp.Good, ocsp.Revoked or ocsp.Unknown.
	Status int
	// RevokedAt and Reason (an RFC 5280 CRLReason) are used when Status is
	// ocsp.Revoked; reason 0 (unspecified) is left out, as RFC 5280 §5.3.1
	// asks.
	RevokedAt  time.Time
	Reason     int
	ThisUpdate time.Time
	NextUpdate time.Time
}

// ResponseTemplate is what a BasicOCSPResponse states.
type ResponseTemplate struct {
	ProducedAt time.Time
	Responses  []SingleResponse
	// Nonce, when set, is echoed in responseExtensions (RFC 8954 §2.1).
	Nonce *pkix.Extension
}

var (
	oidOCSPBasic = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}
	oidECDSA256  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSA384  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSA512  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidRSA256    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
)

func hashOID(h crypto.Hash) (asn1.ObjectIdentifier, error) {
	if oid, ok := hashoid.OID(h); ok {
		return oid, nil
	}
	return nil, fmt.Errorf("ocspresp: unsupported CertID hash %v", h)
}

// signatureAlgorithm picks the signature algorithm and digest for a
// responder key: ECDSA with the hash matching the curve, RSA with SHA-256
// (PKCS #1 v1.5).
func signatureAlgorithm(pub crypto.PublicKey) (asn1.ObjectIdentifier, bool, crypto.Hash, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return oidECDSA256, false, crypto.SHA256, nil
		case elliptic.P384():
			return oidECDSA384, false, crypto.SHA384, nil
		case elliptic.P521():
			return oidECDSA512, false, crypto.SHA512, nil
		}
	case *rsa.PublicKey:
		return oidRSA256, true, crypto.SHA256, nil
	}
	return nil, false, 0, fmt.Errorf("ocspresp: unsupported responder key %T", pub)
}

func genTime(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// CreateResponse encodes and signs a successful OCSPResponse carrying a
// BasicOCSPResponse (RFC 6960 §4.2.1): responderID byName, producedAt and
// every time to the second, one SingleResponse per entry of t.Responses,
// the nonce in responseExtensions, signed by key with the algorithm that
// fits it, and the responder certificate in certs.
func CreateResponse(responder *x509.Certificate, key crypto.Signer, t ResponseTemplate) ([]byte, error) {
	if responder == nil || key == nil {
		return nil, errors.New("ocspresp: no responder")
	}
	if len(t.Responses) == 0 {
		return nil, errors.New("ocspresp: no single responses")
	}
	sigOID, rsaNull, sigHash, err := signatureAlgorithm(key.Public())
	if err != nil {
		return nil, err
	}
	var tbs cryptobyte.Builder
	var buildErr error
	tbs.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		// version v1 is the DEFAULT and is left out.
		b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddBytes(responder.RawSubject)
		})
		b.AddASN1GeneralizedTime(genTime(t.ProducedAt))
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, r := range t.Responses {
				if err := addSingle(b, r); err != nil {
					buildErr = err
					return
				}
			}
		})
		if t.Nonce != nil {
			b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(t.Nonce.Id)
						if t.Nonce.Critical {
							b.AddASN1Boolean(true)
						}
						b.AddASN1OctetString(t.Nonce.Value)
					})
				})
			})
		}
	})
	if buildErr != nil {
		return nil, buildErr
	}
	tbsDER, err := tbs.Bytes()
	if err != nil {
		return nil, fmt.Errorf("ocspresp: encode response data: %w", err)
	}
	h := sigHash.New()
	h.Write(tbsDER)
	sig, err := key.Sign(rand.Reader, h.Sum(nil), sigHash)
	if err != nil {
		return nil, fmt.Errorf("ocspresp: sign response: %w", err)
	}
	var basic cryptobyte.Builder
	basic.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbsDER)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(sigOID)
			if rsaNull {
				b.AddASN1NULL()
			}
		})
		b.AddASN1BitString(sig)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddBytes(responder.Raw)
			})
		})
	})
	basicDER, err := basic.Bytes()
	if err != nil {
		return nil, fmt.Errorf("ocspresp: encode basic response: %w", err)
	}
	var out cryptobyte.Builder
	out.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Enum(int64(ocsp.Success))
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidOCSPBasic)
				b.AddASN1OctetString(basicDER)
			})
		})
	})
	return out.Bytes()
}

func addSingle(b *cryptobyte.Builder, r SingleResponse) error {
	oid, err := hashOID(r.HashAlgorithm)
	if err != nil {
		return err
	}
	if r.Serial == nil || len(r.IssuerNameHash) != r.HashAlgorithm.Size() || len(r.IssuerKeyHash) != r.HashAlgorithm.Size() {
		return errors.New("ocspresp: bad CertID")
	}
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oid)
				b.AddASN1NULL()
			})
			b.AddASN1OctetString(r.IssuerNameHash)
			b.AddASN1OctetString(r.IssuerKeyHash)
			b.AddASN1BigInt(r.Serial)
		})
		switch r.Status {
		case ocsp.Good:
			b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(*cryptobyte.Builder) {})
		case ocsp.Revoked:
			b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1GeneralizedTime(genTime(r.RevokedAt))
				if r.Reason != 0 {
					b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
						b.AddASN1Enum(int64(r.Reason))
					})
				}
			})
		default:
			b.AddASN1(cbasn1.Tag(2).ContextSpecific(), func(*cryptobyte.Builder) {})
		}
		b.AddASN1GeneralizedTime(genTime(r.ThisUpdate))
		if !r.NextUpdate.IsZero() {
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1GeneralizedTime(genTime(r.NextUpdate))
			})
		}
	})
	return nil
}
