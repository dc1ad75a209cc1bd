package pki

import (
	"crypto"
	"encoding/asn1"

	"kyso/hashoid"
)

// Object identifiers used for keys, digests and signatures.
var (
	OIDRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	OIDRSAPSS        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	OIDMGF1          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	OIDECPublicKey   = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	OIDPrimeField    = asn1.ObjectIdentifier{1, 2, 840, 10045, 1, 1}

	OIDSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	OIDSHA224 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}
	OIDSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	OIDSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	OIDSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	OIDSHA1WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}
	OIDSHA224WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 14}
	OIDSHA256WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	OIDSHA384WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	OIDSHA512WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}

	OIDECDSAWithSHA1   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}
	OIDECDSAWithSHA224 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 1}
	OIDECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	OIDECDSAWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	OIDECDSAWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}

	// BSI TR-03111 ecdsa-plain-signatures (r‖s).
	OIDECDSAPlainSHA1   = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 1, 1, 4, 1, 1}
	OIDECDSAPlainSHA224 = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 1, 1, 4, 1, 2}
	OIDECDSAPlainSHA256 = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 1, 1, 4, 1, 3}
	OIDECDSAPlainSHA384 = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 1, 1, 4, 1, 4}
	OIDECDSAPlainSHA512 = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 1, 1, 4, 1, 5}
	// SHA-3 variants (NIST CSOR sigAlgs, BSI TR-03111).
	OIDECDSAPlainSHA3_224 = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 1, 1, 4, 1, 8}
	OIDECDSAPlainSHA3_256 = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 1, 1, 4, 1, 9}
	OIDECDSAPlainSHA3_384 = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 1, 1, 4, 1, 10}
	OIDECDSAPlainSHA3_512 = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 1, 1, 4, 1, 11}
	OIDECDSAWithSHA3_224  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 9}
	OIDECDSAWithSHA3_256  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 10}
	OIDECDSAWithSHA3_384  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 11}
	OIDECDSAWithSHA3_512  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 12}
	OIDRSAWithSHA3_224    = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 13}
	OIDRSAWithSHA3_256    = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 14}
	OIDRSAWithSHA3_384    = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 15}
	OIDRSAWithSHA3_512    = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 16}
	OIDEd25519            = asn1.ObjectIdentifier{1, 3, 101, 112}
	OIDEd448              = asn1.ObjectIdentifier{1, 3, 101, 113}

	oidExtSKI              = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidExtAKI              = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidExtBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidExtKeyUsage         = asn1.ObjectIdentifier{2, 5, 29, 15}
)

// HashByOID maps a digest algorithm OID to a crypto.Hash (0 if unknown).
func HashByOID(oid asn1.ObjectIdentifier) crypto.Hash {
	if h, ok := hashoid.Hash(oid); ok {
		return h
	}
	return 0
}

// OIDByHash is the inverse of HashByOID.
func OIDByHash(h crypto.Hash) asn1.ObjectIdentifier {
	oid, _ := hashoid.OID(h)
	return oid
}

type sigKind int

const (
	kindUnknown sigKind = iota
	kindRSA
	kindPSS
	kindECDSA      // DER, or plain when the length says so
	kindECDSAPlain // r‖s
	kindEd25519    // pure EdDSA over the message
	kindEd448
)

// sigAlgorithm describes a signature algorithm OID: its kind and the hash it
// fixes (0 when the hash comes from the SignerInfo digestAlgorithm).
func sigAlgorithm(oid asn1.ObjectIdentifier) (sigKind, crypto.Hash) {
	table := []struct {
		oid  asn1.ObjectIdentifier
		kind sigKind
		hash crypto.Hash
	}{
		{OIDRSAEncryption, kindRSA, 0},
		{OIDSHA1WithRSA, kindRSA, crypto.SHA1},
		{OIDSHA224WithRSA, kindRSA, crypto.SHA224},
		{OIDSHA256WithRSA, kindRSA, crypto.SHA256},
		{OIDSHA384WithRSA, kindRSA, crypto.SHA384},
		{OIDSHA512WithRSA, kindRSA, crypto.SHA512},
		{OIDRSAPSS, kindPSS, 0},
		{OIDECPublicKey, kindECDSA, 0},
		{OIDECDSAWithSHA1, kindECDSA, crypto.SHA1},
		{OIDECDSAWithSHA224, kindECDSA, crypto.SHA224},
		{OIDECDSAWithSHA256, kindECDSA, crypto.SHA256},
		{OIDECDSAWithSHA384, kindECDSA, crypto.SHA384},
		{OIDECDSAWithSHA512, kindECDSA, crypto.SHA512},
		{OIDECDSAPlainSHA1, kindECDSAPlain, crypto.SHA1},
		{OIDECDSAPlainSHA224, kindECDSAPlain, crypto.SHA224},
		{OIDECDSAPlainSHA256, kindECDSAPlain, crypto.SHA256},
		{OIDECDSAPlainSHA384, kindECDSAPlain, crypto.SHA384},
		{OIDECDSAPlainSHA512, kindECDSAPlain, crypto.SHA512},
		{OIDECDSAPlainSHA3_224, kindECDSAPlain, crypto.SHA3_224},
		{OIDECDSAPlainSHA3_256, kindECDSAPlain, crypto.SHA3_256},
		{OIDECDSAPlainSHA3_384, kindECDSAPlain, crypto.SHA3_384},
		{OIDECDSAPlainSHA3_512, kindECDSAPlain, crypto.SHA3_512},
		{OIDECDSAWithSHA3_224, kindECDSA, crypto.SHA3_224},
		{OIDECDSAWithSHA3_256, kindECDSA, crypto.SHA3_256},
		{OIDECDSAWithSHA3_384, kindECDSA, crypto.SHA3_384},
		{OIDECDSAWithSHA3_512, kindECDSA, crypto.SHA3_512},
		{OIDRSAWithSHA3_224, kindRSA, crypto.SHA3_224},
		{OIDRSAWithSHA3_256, kindRSA, crypto.SHA3_256},
		{OIDRSAWithSHA3_384, kindRSA, crypto.SHA3_384},
		{OIDRSAWithSHA3_512, kindRSA, crypto.SHA3_512},
		{OIDEd25519, kindEd25519, 0},
		{OIDEd448, kindEd448, 0},
	}
	for _, e := range table {
		if e.oid.Equal(oid) {
			return e.kind, e.hash
		}
	}
	return kindUnknown, 0
}

// SignatureHash returns the hash an ECDSA/RSA signature algorithm OID fixes,
// or 0 when it does not (rsaEncryption, ecPublicKey, PSS).
func SignatureHash(oid asn1.ObjectIdentifier) crypto.Hash {
	_, h := sigAlgorithm(oid)
	return h
}
