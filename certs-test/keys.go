package certstest

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"

	"kyso/identity/ecc"
	"kyso/identity/pki"
)

// stream is a deterministic byte source derived from a seed and a label.
type stream struct{ r *rand.ChaCha8 }

func newStream(seed, label string) *stream {
	return &stream{rand.NewChaCha8(sha256.Sum256([]byte(seed + "\x00" + label)))}
}

func (s *stream) Read(p []byte) (int, error) { return s.r.Read(p) }

// key is a test key pair: RSA or EC on any curve.
type key struct {
	rsa *rsa.PrivateKey
	ec  *ecc.PrivateKey
}

func (k *key) public() *pki.PublicKey {
	if k.rsa != nil {
		return &pki.PublicKey{RSA: &k.rsa.PublicKey}
	}
	return &pki.PublicKey{EC: &k.ec.PublicKey}
}

func genPrime(r io.Reader, bits int) (*big.Int, error) {
	buf := make([]byte, (bits+7)/8)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	p := new(big.Int).SetBytes(buf)
	p.SetBit(p, bits-1, 1)
	p.SetBit(p, bits-2, 1)
	p.SetBit(p, 0, 1)
	two := big.NewInt(2)
	for !p.ProbablyPrime(20) {
		p.Add(p, two)
	}
	return p, nil
}

// genRSA derives an RSA key deterministically from r.
func genRSA(r io.Reader, bits int) (*rsa.PrivateKey, error) {
	e := big.NewInt(65537)
	one := big.NewInt(1)
	for i := 0; i < 64; i++ {
		p, err := genPrime(r, bits/2)
		if err != nil {
			return nil, err
		}
		q, err := genPrime(r, bits-bits/2)
		if err != nil {
			return nil, err
		}
		if p.Cmp(q) == 0 {
			continue
		}
		n := new(big.Int).Mul(p, q)
		if n.BitLen() != bits {
			continue
		}
		pm, qm := new(big.Int).Sub(p, one), new(big.Int).Sub(q, one)
		phi := new(big.Int).Mul(pm, qm)
		d := new(big.Int).ModInverse(e, phi)
		if d == nil {
			continue
		}
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: 65537}, D: d, Primes: []*big.Int{p, q}}
		k.Precompute()
		if err := k.Validate(); err != nil {
			continue
		}
		return k, nil
	}
	return nil, errors.New("certstest: RSA key generation failed")
}

func genKey(seed, label, kind string) (*key, error) {
	r := newStream(seed, label)
	switch kind {
	case "rsa":
		k, err := genRSA(r, 2048)
		return &key{rsa: k}, err
	case "rsa1024":
		k, err := genRSA(r, 1024)
		return &key{rsa: k}, err
	default:
		c := ecc.ByName(kind)
		if c == nil {
			return nil, fmt.Errorf("certstest: unknown key kind %q", kind)
		}
		k, err := ecc.GenerateKey(c, r)
		return &key{ec: k}, err
	}
}

// sign signs message with k: PKCS#1 v1.5 or PSS for RSA, DER ECDSA for EC.
func (k *key) sign(r io.Reader, h crypto.Hash, pss bool, message []byte) ([]byte, error) {
	d := h.New()
	d.Write(message)
	digest := d.Sum(nil)
	switch {
	case k.rsa != nil && pss:
		return rsa.SignPSS(r, k.rsa, h, digest, &rsa.PSSOptions{SaltLength: h.Size(), Hash: h})
	case k.rsa != nil:
		return rsa.SignPKCS1v15(nil, k.rsa, h, digest)
	default:
		return k.ec.Sign(r, digest, h)
	}
}

// marshalSPKI encodes the public key; explicit writes EC domain
// parameters instead of the curve OID.
func marshalSPKI(pub *pki.PublicKey, explicit bool) ([]byte, error) {
	if pub.RSA != nil || !explicit {
		return pub.MarshalPKIX()
	}
	c := pub.EC.Curve
	n := c.ByteLen()
	params, err := asn1.Marshal(struct {
		Version int
		FieldID struct {
			Type  asn1.ObjectIdentifier
			Prime *big.Int
		}
		Curve struct{ A, B []byte }
		Base  []byte
		Order *big.Int
		Cof   int
	}{
		Version: 1,
		FieldID: struct {
			Type  asn1.ObjectIdentifier
			Prime *big.Int
		}{pki.OIDPrimeField, c.P},
		Curve: struct{ A, B []byte }{c.A.FillBytes(make([]byte, n)), c.B.FillBytes(make([]byte, n))},
		Base:  c.Marshal(c.Gx, c.Gy), Order: c.N, Cof: c.Cofactor,
	})
	if err != nil {
		return nil, err
	}
	pt := pub.EC.Bytes()
	return asn1.Marshal(struct {
		Alg pki.AlgorithmIdentifier
		Key asn1.BitString
	}{
		pki.AlgorithmIdentifier{Algorithm: pki.OIDECPublicKey, Parameters: asn1.RawValue{FullBytes: params}},
		asn1.BitString{Bytes: pt, BitLength: 8 * len(pt)},
	})
}

type ecPrivateKey struct {
	Version    int
	PrivateKey []byte
	Curve      asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
	PublicKey  asn1.BitString        `asn1:"optional,explicit,tag:1"`
}

// marshalPrivatePEM writes "RSA PRIVATE KEY" (PKCS#1) or "EC PRIVATE KEY"
// (SEC 1, named curve, including brainpool).
func (k *key) marshalPrivatePEM() ([]byte, error) {
	if k.rsa != nil {
		return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509MarshalPKCS1(k.rsa)}), nil
	}
	c := k.ec.Curve
	pt := k.ec.Bytes()
	der, err := asn1.Marshal(ecPrivateKey{
		Version: 1, PrivateKey: k.ec.D.FillBytes(make([]byte, c.OrderByteLen())),
		Curve: c.OID, PublicKey: asn1.BitString{Bytes: pt, BitLength: 8 * len(pt)},
	})
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func parsePrivatePEM(b []byte) (*key, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("certstest: no PEM block in key file")
	}
	switch blk.Type {
	case "RSA PRIVATE KEY":
		k, err := x509ParsePKCS1(blk.Bytes)
		if err != nil {
			return nil, err
		}
		return &key{rsa: k}, nil
	case "EC PRIVATE KEY":
		var e ecPrivateKey
		if _, err := asn1.Unmarshal(blk.Bytes, &e); err != nil {
			return nil, fmt.Errorf("certstest: EC key: %w", err)
		}
		c := ecc.ByOID(e.Curve)
		if c == nil {
			return nil, fmt.Errorf("certstest: unknown curve %v", e.Curve)
		}
		d := new(big.Int).SetBytes(e.PrivateKey)
		x, y := c.ScalarBaseMult(d)
		return &key{ec: &ecc.PrivateKey{PublicKey: ecc.PublicKey{Curve: c, X: x, Y: y}, D: d}}, nil
	}
	return nil, fmt.Errorf("certstest: unsupported key type %q", blk.Type)
}

func eccSignRS(r io.Reader, k *key, digest []byte) (*big.Int, *big.Int, error) {
	return ecc.SignRS(r, k.ec, digest)
}
