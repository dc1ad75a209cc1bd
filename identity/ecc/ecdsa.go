package ecc

import (
	"crypto"
	"crypto/ecdsa"
	"encoding/asn1"
	"errors"
	"io"
	"math/big"
)

// PublicKey is an ECDSA public key on any Curve.
type PublicKey struct {
	Curve *Curve
	X, Y  *big.Int
}

// PrivateKey is an ECDSA private key on any Curve (test use only).
type PrivateKey struct {
	PublicKey
	D *big.Int
}

// Public implements crypto.Signer.
func (k *PrivateKey) Public() crypto.PublicKey { return &k.PublicKey }

// Sign implements crypto.Signer, returning an ASN.1 DER ECDSA signature
// over digest. Not constant-time: test keys only.
func (k *PrivateKey) Sign(rand io.Reader, digest []byte, _ crypto.SignerOpts) ([]byte, error) {
	r, s, err := SignRS(rand, k, digest)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(struct{ R, S *big.Int }{r, s})
}

// ECDSA returns the standard-library key when the curve is a NIST curve.
func (k *PublicKey) ECDSA() (*ecdsa.PublicKey, bool) {
	if k.Curve.NIST == nil {
		return nil, false
	}
	return &ecdsa.PublicKey{Curve: k.Curve.NIST, X: k.X, Y: k.Y}, true
}

// Bytes returns the uncompressed point encoding.
func (k *PublicKey) Bytes() []byte { return k.Curve.Marshal(k.X, k.Y) }

// GenerateKey creates a key pair on c from rand (test use only).
func GenerateKey(c *Curve, rand io.Reader) (*PrivateKey, error) {
	d, err := randScalar(c, rand)
	if err != nil {
		return nil, err
	}
	x, y := c.ScalarBaseMult(d)
	return &PrivateKey{PublicKey: PublicKey{Curve: c, X: x, Y: y}, D: d}, nil
}

func randScalar(c *Curve, rand io.Reader) (*big.Int, error) {
	buf := make([]byte, c.OrderByteLen()+8)
	for i := 0; i < 100; i++ {
		if _, err := io.ReadFull(rand, buf); err != nil {
			return nil, err
		}
		k := new(big.Int).SetBytes(buf)
		k.Mod(k, new(big.Int).Sub(c.N, big.NewInt(1)))
		k.Add(k, big.NewInt(1))
		if k.Sign() > 0 {
			return k, nil
		}
	}
	return nil, errors.New("ecc: cannot draw scalar")
}

// hashToInt truncates the digest to the bit length of the order (SEC 1 4.1.3).
func hashToInt(hash []byte, c *Curve) *big.Int {
	orderBits := c.N.BitLen()
	orderBytes := (orderBits + 7) / 8
	if len(hash) > orderBytes {
		hash = hash[:orderBytes]
	}
	e := new(big.Int).SetBytes(hash)
	if excess := len(hash)*8 - orderBits; excess > 0 {
		e.Rsh(e, uint(excess))
	}
	return e
}

// SignRS produces (r, s) over digest (test use only).
func SignRS(rand io.Reader, k *PrivateKey, digest []byte) (r, s *big.Int, err error) {
	c := k.Curve
	e := hashToInt(digest, c)
	for i := 0; i < 100; i++ {
		kk, err := randScalar(c, rand)
		if err != nil {
			return nil, nil, err
		}
		x, _ := c.ScalarBaseMult(kk)
		r = new(big.Int).Mod(x, c.N)
		if r.Sign() == 0 {
			continue
		}
		kinv := new(big.Int).ModInverse(kk, c.N)
		s = new(big.Int).Mul(k.D, r)
		s.Add(s, e)
		s.Mul(s, kinv)
		s.Mod(s, c.N)
		if s.Sign() != 0 {
			return r, s, nil
		}
	}
	return nil, nil, errors.New("ecc: signing failed")
}

// Verify checks the ECDSA signature (r, s) over digest.
func Verify(pub *PublicKey, digest []byte, r, s *big.Int) bool {
	if pub == nil || pub.Curve == nil || r == nil || s == nil {
		return false
	}
	if k, ok := pub.ECDSA(); ok {
		return ecdsa.Verify(k, digest, r, s)
	}
	c := pub.Curve
	if r.Sign() <= 0 || s.Sign() <= 0 || r.Cmp(c.N) >= 0 || s.Cmp(c.N) >= 0 {
		return false
	}
	if !c.IsOnCurve(pub.X, pub.Y) {
		return false
	}
	e := hashToInt(digest, c)
	w := new(big.Int).ModInverse(s, c.N)
	if w == nil {
		return false
	}
	u1 := new(big.Int).Mul(e, w)
	u1.Mod(u1, c.N)
	u2 := new(big.Int).Mul(r, w)
	u2.Mod(u2, c.N)
	x, _ := c.fromJ(c.mulAdd(u1, u2, c.toJ(pub.X, pub.Y)))
	if x == nil {
		return false
	}
	x.Mod(x, c.N)
	return x.Cmp(r) == 0
}

// ParseSignature accepts an ASN.1 DER ECDSA-Sig-Value or a plain r‖s
// signature (BSI TR-03111) whose halves are each the order's byte length.
func ParseSignature(c *Curve, sig []byte) (r, s *big.Int, err error) {
	var v struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(sig, &v); err == nil && len(rest) == 0 && v.R != nil && v.S != nil {
		return v.R, v.S, nil
	}
	n := c.OrderByteLen()
	if len(sig) == 2*n {
		return new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:]), nil
	}
	return nil, nil, errors.New("ecc: signature is neither DER nor plain r‖s")
}
