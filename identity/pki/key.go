package pki

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"github.com/cloudflare/circl/sign/ed448"

	"kyso/identity/ecc"
)

// AlgorithmIdentifier is the X.509 AlgorithmIdentifier.
type AlgorithmIdentifier = pkix.AlgorithmIdentifier

// PublicKey is an RSA, elliptic-curve, Ed25519 or Ed448 public key;
// exactly one is set.
type PublicKey struct {
	RSA     *rsa.PublicKey
	EC      *ecc.PublicKey
	Ed25519 ed25519.PublicKey
	Ed448   ed448.PublicKey
	// ExplicitParams is true when the curve was given by explicit domain
	// parameters rather than a named-curve OID.
	ExplicitParams bool
}

// String names the key type, e.g. "RSA-2048" or "EC brainpoolP256r1".
func (k *PublicKey) String() string {
	switch {
	case k == nil:
		return "<nil>"
	case k.RSA != nil:
		return fmt.Sprintf("RSA-%d", k.RSA.N.BitLen())
	case k.EC != nil:
		name := k.EC.Curve.Name
		if name == "" {
			name = fmt.Sprintf("unnamed-%d", k.EC.Curve.P.BitLen())
		}
		return "EC " + name
	case k.Ed25519 != nil:
		return "Ed25519"
	case k.Ed448 != nil:
		return "Ed448"
	}
	return "<empty>"
}

type spki struct {
	Algorithm AlgorithmIdentifier
	PublicKey asn1.BitString
}

type ecParameters struct {
	Version int
	FieldID struct {
		FieldType asn1.ObjectIdentifier
		Prime     *big.Int
	}
	Curve struct {
		A, B []byte
		Seed asn1.BitString `asn1:"optional"`
	}
	Base     []byte
	Order    *big.Int
	Cofactor *big.Int `asn1:"optional"`
}

// ParsePublicKey parses a DER SubjectPublicKeyInfo.
func ParsePublicKey(der []byte) (*PublicKey, error) {
	var s spki
	rest, err := asn1.Unmarshal(der, &s)
	if err != nil {
		return nil, fmt.Errorf("pki: subjectPublicKeyInfo: %w", err)
	}
	if len(rest) != 0 {
		return nil, errors.New("pki: trailing data after subjectPublicKeyInfo")
	}
	bits := s.PublicKey.RightAlign()
	switch alg := s.Algorithm.Algorithm; {
	case alg.Equal(OIDRSAEncryption) || alg.Equal(OIDRSAPSS):
		k, err := parseRSAKey(bits)
		if err != nil {
			return nil, err
		}
		return &PublicKey{RSA: k}, nil
	case alg.Equal(OIDECPublicKey):
		return parseECKey(s.Algorithm.Parameters, bits)
	case alg.Equal(OIDEd25519):
		if len(bits) != ed25519.PublicKeySize {
			return nil, errors.New("pki: Ed25519 public key: bad length")
		}
		return &PublicKey{Ed25519: ed25519.PublicKey(bits)}, nil
	case alg.Equal(OIDEd448):
		if len(bits) != ed448.PublicKeySize {
			return nil, errors.New("pki: Ed448 public key: bad length")
		}
		return &PublicKey{Ed448: ed448.PublicKey(bits)}, nil
	default:
		return nil, fmt.Errorf("pki: unsupported public key algorithm %v", alg)
	}
}

func parseECKey(params asn1.RawValue, point []byte) (*PublicKey, error) {
	var curve *ecc.Curve
	explicit := false
	switch {
	case params.Tag == asn1.TagOID && params.Class == asn1.ClassUniversal:
		var oid asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(params.FullBytes, &oid); err != nil {
			return nil, fmt.Errorf("pki: named curve: %w", err)
		}
		curve = ecc.ByOID(oid)
		if curve == nil {
			return nil, fmt.Errorf("pki: unsupported named curve %v", oid)
		}
	case params.Tag == asn1.TagSequence && params.Class == asn1.ClassUniversal:
		c, err := ParseECParameters(params.FullBytes)
		if err != nil {
			return nil, err
		}
		curve, explicit = c, true
	default:
		return nil, errors.New("pki: EC key without curve parameters")
	}
	x, y, err := DecodePoint(curve, point)
	if err != nil {
		return nil, err
	}
	return &PublicKey{EC: &ecc.PublicKey{Curve: curve, X: x, Y: y}, ExplicitParams: explicit}, nil
}

// ParseECParameters parses explicit ECParameters (SEC 1 C.2). A curve
// matching known parameters is returned under its name; otherwise the
// parameters are validated and returned as an unnamed curve.
func ParseECParameters(der []byte) (*ecc.Curve, error) {
	var p ecParameters
	if _, err := asn1.Unmarshal(der, &p); err != nil {
		return nil, fmt.Errorf("pki: explicit EC parameters: %w", err)
	}
	if !p.FieldID.FieldType.Equal(OIDPrimeField) || p.FieldID.Prime == nil || p.Order == nil {
		return nil, errors.New("pki: explicit EC parameters: only prime fields are supported")
	}
	c := &ecc.Curve{
		P: p.FieldID.Prime,
		A: new(big.Int).SetBytes(p.Curve.A),
		B: new(big.Int).SetBytes(p.Curve.B),
		N: p.Order, Cofactor: 1,
	}
	if p.Cofactor != nil && p.Cofactor.IsInt64() {
		c.Cofactor = int(p.Cofactor.Int64())
	}
	// Primality is checked by Validate, only for curves we do not know.
	if c.P.Sign() <= 0 || c.P.BitLen() < 160 || c.P.BitLen() > 1024 || c.P.Bit(0) == 0 {
		return nil, errors.New("pki: explicit EC parameters: bad prime")
	}
	gx, gy, err := DecodePoint(c, p.Base)
	if err != nil {
		return nil, fmt.Errorf("pki: explicit EC parameters: base point: %w", err)
	}
	c.Gx, c.Gy = gx, gy
	if known := ecc.Identify(c.P, c.A, c.B, c.Gx, c.Gy, c.N); known != nil {
		return known, nil
	}
	if !c.Validate() {
		return nil, errors.New("pki: explicit EC parameters do not describe a valid curve")
	}
	c.Name = ""
	return c, nil
}

// DecodePoint decodes an uncompressed or compressed point on c.
func DecodePoint(c *ecc.Curve, b []byte) (x, y *big.Int, err error) {
	n := (c.P.BitLen() + 7) / 8
	switch {
	case len(b) == 1+2*n && b[0] == 4:
		x = new(big.Int).SetBytes(b[1 : 1+n])
		y = new(big.Int).SetBytes(b[1+n:])
	case len(b) == 1+n && (b[0] == 2 || b[0] == 3):
		x = new(big.Int).SetBytes(b[1:])
		// ModSqrt is undefined (and may not terminate) for composite moduli.
		if c.A == nil || c.B == nil || !c.P.ProbablyPrime(4) {
			return nil, nil, errors.New("pki: compressed point on a non-prime field")
		}
		if x.Cmp(c.P) >= 0 {
			return nil, nil, errors.New("pki: point x out of range")
		}
		rhs := new(big.Int).Mul(x, x)
		rhs.Mul(rhs, x)
		rhs.Add(rhs, new(big.Int).Mul(c.A, x))
		rhs.Add(rhs, c.B)
		rhs.Mod(rhs, c.P)
		y = new(big.Int).ModSqrt(rhs, c.P)
		if y == nil {
			return nil, nil, errors.New("pki: compressed point not on curve")
		}
		if y.Bit(0) != uint(b[0]&1) {
			y.Sub(c.P, y)
		}
	default:
		return nil, nil, errors.New("pki: unsupported point encoding")
	}
	if c.A != nil && c.B != nil && !c.IsOnCurve(x, y) {
		return nil, nil, errors.New("pki: point not on curve")
	}
	return x, y, nil
}

// MarshalPKIX encodes the key as a SubjectPublicKeyInfo (named curve when
// the curve has an OID).
func (k *PublicKey) MarshalPKIX() ([]byte, error) {
	switch {
	case k.RSA != nil:
		return x509.MarshalPKIXPublicKey(k.RSA)
	case k.EC != nil:
		if std, ok := k.EC.ECDSA(); ok {
			return x509.MarshalPKIXPublicKey(std)
		}
		if k.EC.Curve.OID == nil {
			return nil, errors.New("pki: cannot encode key on unnamed curve")
		}
		oid, err := asn1.Marshal(k.EC.Curve.OID)
		if err != nil {
			return nil, err
		}
		pt := k.EC.Bytes()
		return asn1.Marshal(spki{
			Algorithm: AlgorithmIdentifier{Algorithm: OIDECPublicKey, Parameters: asn1.RawValue{FullBytes: oid}},
			PublicKey: asn1.BitString{Bytes: pt, BitLength: 8 * len(pt)},
		})
	case k.Ed25519 != nil:
		return x509.MarshalPKIXPublicKey(k.Ed25519)
	}
	return nil, errors.New("pki: empty key")
}

// FromCrypto wraps a standard-library or ecc public key.
func FromCrypto(pub any) (*PublicKey, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return &PublicKey{RSA: k}, nil
	case *ecdsa.PublicKey:
		for _, c := range ecc.Known() {
			if c.NIST != nil && c.NIST.Params().Name == k.Curve.Params().Name {
				return &PublicKey{EC: &ecc.PublicKey{Curve: c, X: k.X, Y: k.Y}}, nil
			}
		}
		return nil, errors.New("pki: unsupported ECDSA curve")
	case *ecc.PublicKey:
		return &PublicKey{EC: k}, nil
	case ed25519.PublicKey:
		return &PublicKey{Ed25519: k}, nil
	case ed448.PublicKey:
		return &PublicKey{Ed448: k}, nil
	}
	return nil, fmt.Errorf("pki: unsupported key type %T", pub)
}

// parseRSAKey parses RSAPublicKey. Some chips encode the modulus without
// the leading zero octet, which makes it a negative INTEGER in strict DER;
// the octets are read as unsigned, as other eMRTD readers do.
func parseRSAKey(der []byte) (*rsa.PublicKey, error) {
	var k struct{ N, E asn1.RawValue }
	rest, err := asn1.Unmarshal(der, &k)
	if err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("pki: RSA public key: malformed (%v)", err)
	}
	if k.N.Tag != asn1.TagInteger || k.E.Tag != asn1.TagInteger {
		return nil, errors.New("pki: RSA public key: not integers")
	}
	n := new(big.Int).SetBytes(k.N.Bytes)
	e := new(big.Int).SetBytes(k.E.Bytes)
	if n.BitLen() < 512 || n.BitLen() > 16384 || n.Bit(0) == 0 {
		return nil, fmt.Errorf("pki: RSA public key: modulus of %d bits", n.BitLen())
	}
	if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 || e.Bit(0) == 0 {
		return nil, errors.New("pki: RSA public key: bad exponent")
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}
