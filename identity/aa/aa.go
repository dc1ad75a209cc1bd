// Package aa verifies ICAO Doc 9303-11 Active Authentication: the chip
// signs a verifier-chosen nonce with the private key whose public half is
// in DG15, which proves the chip is genuine and not a copy.
//
// RSA chips sign with ISO/IEC 9796-2 digital signature scheme 1 (message
// recovery), which no Go library implements, so the recovery and checks are
// written here: trailer 0xBC means SHA-1, a two-octet trailer 0x??CC names
// the hash by its ISO/IEC 10118-3 identifier (0x33 SHA-1, 0x34 SHA-256,
// 0x35 SHA-512, 0x36 SHA-384, 0x38 SHA-224). ECDSA chips sign with the hash
// DG14's ActiveAuthenticationInfo names; the signature may be plain r‖s or
// DER.
package aa

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"math/big"

	"kyso/identity/lds"
	"kyso/identity/pki"
)

// ErrFailed is returned (wrapped) when the signature does not prove
// possession of the DG15 key over the nonce.
var ErrFailed = errors.New("aa: active authentication failed")

// Verify checks the chip's signature sig over nonce with the DG15 key pub.
// dg14 may be nil; for ECDSA it names the hash (without it, the hash whose
// size matches the curve is assumed).
func Verify(pub *pki.PublicKey, dg14 *lds.DG14, nonce, sig []byte) error {
	switch {
	case pub == nil:
		return fmt.Errorf("%w: no public key", ErrFailed)
	case pub.RSA != nil:
		return verifyRSA(pub, nonce, sig)
	case pub.EC != nil:
		h := crypto.Hash(0)
		if dg14 != nil {
			h = dg14.AAHash
		}
		if h == 0 {
			h = hashForCurve(pub.EC.Curve.N.BitLen())
		}
		if !h.Available() {
			return fmt.Errorf("%w: hash %v unavailable", ErrFailed, h)
		}
		d := h.New()
		d.Write(nonce)
		if err := pki.VerifyDigest(pub, false, h, d.Sum(nil), sig); err != nil {
			return fmt.Errorf("%w: %v", ErrFailed, err)
		}
		return nil
	}
	return fmt.Errorf("%w: unsupported key", ErrFailed)
}

func hashForCurve(bits int) crypto.Hash {
	switch {
	case bits <= 224:
		return crypto.SHA224
	case bits <= 256:
		return crypto.SHA256
	case bits <= 384:
		return crypto.SHA384
	}
	return crypto.SHA512
}

// TrailerHash maps an ISO/IEC 10118-3 hash identifier to a crypto.Hash.
func TrailerHash(id byte) crypto.Hash {
	switch id {
	case 0x33:
		return crypto.SHA1
	case 0x34:
		return crypto.SHA256
	case 0x35:
		return crypto.SHA512
	case 0x36:
		return crypto.SHA384
	case 0x38:
		return crypto.SHA224
	}
	return 0
}

// TrailerID is the inverse of TrailerHash.
func TrailerID(h crypto.Hash) byte {
	switch h {
	case crypto.SHA1:
		return 0x33
	case crypto.SHA256:
		return 0x34
	case crypto.SHA512:
		return 0x35
	case crypto.SHA384:
		return 0x36
	case crypto.SHA224:
		return 0x38
	}
	return 0
}

// Recover opens an ISO/IEC 9796-2 scheme 1 signature: it returns the
// recoverable message part M1, the digest D and the hash used.
func Recover(pub *pki.PublicKey, sig []byte) (m1, digest []byte, h crypto.Hash, err error) {
	n, e := pub.RSA.N, big.NewInt(int64(pub.RSA.E))
	k := (n.BitLen() - 1 + 7) / 8 // octets of the (k-1)-bit representative
	s := new(big.Int).SetBytes(sig)
	if len(sig) == 0 || s.Cmp(n) >= 0 {
		return nil, nil, 0, fmt.Errorf("%w: signature out of range", ErrFailed)
	}
	m := new(big.Int).Exp(s, e, n)
	if m.Bit(0) != 0 || m.Bit(1) != 0 || m.Bit(2) != 1 || m.Bit(3) != 1 { // low nibble must be 0xC
		m.Sub(n, m)
	}
	if m.BitLen() > 8*k {
		return nil, nil, 0, fmt.Errorf("%w: representative too long", ErrFailed)
	}
	f := m.FillBytes(make([]byte, k))
	if f[0] != 0x6A && f[0] != 0x4A {
		return nil, nil, 0, fmt.Errorf("%w: header 0x%02X", ErrFailed, f[0])
	}
	var t int
	switch {
	case f[k-1] == 0xBC:
		h, t = crypto.SHA1, 1
	case f[k-1] == 0xCC:
		h, t = TrailerHash(f[k-2]), 2
		if h == 0 {
			return nil, nil, 0, fmt.Errorf("%w: unknown hash identifier 0x%02X", ErrFailed, f[k-2])
		}
	default:
		return nil, nil, 0, fmt.Errorf("%w: trailer 0x%02X", ErrFailed, f[k-1])
	}
	hl := h.Size()
	if k < 1+hl+t {
		return nil, nil, 0, fmt.Errorf("%w: modulus too small", ErrFailed)
	}
	return f[1 : k-t-hl], f[k-t-hl : k-t], h, nil
}

func verifyRSA(pub *pki.PublicKey, nonce, sig []byte) error {
	m1, d, h, err := Recover(pub, sig)
	if err != nil {
		return err
	}
	if !h.Available() {
		return fmt.Errorf("%w: hash %v unavailable", ErrFailed, h)
	}
	x := h.New()
	x.Write(m1)
	x.Write(nonce)
	if !bytes.Equal(x.Sum(nil), d) {
		return fmt.Errorf("%w: digest mismatch", ErrFailed)
	}
	return nil
}

// SignatureHash is the hash a verified signature used: the ISO/IEC 9796-2
// trailer's for RSA, DG14's (or the curve's) for ECDSA; 0 when unknown.
func SignatureHash(pub *pki.PublicKey, dg14 *lds.DG14, sig []byte) crypto.Hash {
	switch {
	case pub == nil:
		return 0
	case pub.RSA != nil:
		_, _, h, err := Recover(pub, sig)
		if err != nil {
			return 0
		}
		return h
	case pub.EC != nil:
		if dg14 != nil && dg14.AAHash != 0 {
			return dg14.AAHash
		}
		return hashForCurve(pub.EC.Curve.N.BitLen())
	}
	return 0
}
