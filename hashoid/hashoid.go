// Package hashoid maps hash functions to their ASN.1 algorithm identifiers
// (RFC 8017 appendix B.1, NIST CSOR) and back, for every package that
// reads or writes DigestInfo, CMS, OCSP or time-stamp structures.
package hashoid

import (
	"crypto"
	// SHA-1, SHA-2 and SHA-3 are linked in, so that Hash reports them available.
	_ "crypto/sha1"
	_ "crypto/sha256"
	_ "crypto/sha3"
	_ "crypto/sha512"
	"encoding/asn1"
)

var table = []struct {
	hash crypto.Hash
	oid  asn1.ObjectIdentifier
}{
	{crypto.SHA1, asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}},
	{crypto.SHA224, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}},
	{crypto.SHA256, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}},
	{crypto.SHA384, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}},
	{crypto.SHA512, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}},
	{crypto.SHA512_224, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 5}},
	{crypto.SHA512_256, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 6}},
	{crypto.SHA3_256, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 8}},
	{crypto.SHA3_384, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 9}},
	{crypto.SHA3_512, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 10}},
}

// OID returns the algorithm identifier of h.
func OID(h crypto.Hash) (asn1.ObjectIdentifier, bool) {
	for _, e := range table {
		if e.hash == h {
			return append(asn1.ObjectIdentifier(nil), e.oid...), true
		}
	}
	return nil, false
}

// Hash returns the hash function an algorithm identifier names, when it is
// known and linked into the binary.
func Hash(oid asn1.ObjectIdentifier) (crypto.Hash, bool) {
	for _, e := range table {
		if e.oid.Equal(oid) {
			return e.hash, e.hash.Available()
		}
	}
	return 0, false
}
