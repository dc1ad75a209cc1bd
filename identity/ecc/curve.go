package ecc

import (
	"crypto/elliptic"
	"encoding/asn1"
	"math/big"
)

// Curve holds the domain parameters of a short-Weierstrass curve over a
// prime field.
type Curve struct {
	Name               string
	OID                asn1.ObjectIdentifier // nil when unnamed
	P, A, B, Gx, Gy, N *big.Int
	Cofactor           int
	// NIST is the standard-library curve with the same parameters, if any.
	NIST elliptic.Curve
}

// Object identifiers of named curves.
var (
	oidP224            = asn1.ObjectIdentifier{1, 3, 132, 0, 33}
	oidP256            = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidP384            = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
	oidP521            = asn1.ObjectIdentifier{1, 3, 132, 0, 35}
	oidBrainpoolP256r1 = asn1.ObjectIdentifier{1, 3, 36, 3, 3, 2, 8, 1, 1, 7}
	oidBrainpoolP384r1 = asn1.ObjectIdentifier{1, 3, 36, 3, 3, 2, 8, 1, 1, 11}
	oidBrainpoolP512r1 = asn1.ObjectIdentifier{1, 3, 36, 3, 3, 2, 8, 1, 1, 13}
)

func hexInt(s string) *big.Int {
	v, ok := new(big.Int).SetString(s, 16)
	if !ok {
		panic("ecc: bad constant " + s) // constants below are fixed; unreachable
	}
	return v
}

// BrainpoolP256r1 returns the RFC 5639 curve brainpoolP256r1.
func BrainpoolP256r1() *Curve {
	return &Curve{
		Name: "brainpoolP256r1", OID: oidBrainpoolP256r1,
		P:        hexInt("a9fb57dba1eea9bc3e660a909d838d726e3bf623d52620282013481d1f6e5377"),
		A:        hexInt("7d5a0975fc2c3057eef67530417affe7fb8055c126dc5c6ce94a4b44f330b5d9"),
		B:        hexInt("26dc5c6ce94a4b44f330b5d9bbd77cbf958416295cf7e1ce6bccdc18ff8c07b6"),
		Gx:       hexInt("8bd2aeb9cb7e57cb2c4b482ffc81b7afb9de27e1e3bd23c23a4453bd9ace3262"),
		Gy:       hexInt("547ef835c3dac4fd97f8461a14611dc9c27745132ded8e545c1d54c72f046997"),
		N:        hexInt("a9fb57dba1eea9bc3e660a909d838d718c397aa3b561a6f7901e0e82974856a7"),
		Cofactor: 1,
	}
}

// BrainpoolP384r1 returns the RFC 5639 curve brainpoolP384r1.
func BrainpoolP384r1() *Curve {
	return &Curve{
		Name: "brainpoolP384r1", OID: oidBrainpoolP384r1,
		P:        hexInt("8cb91e82a3386d280f5d6f7e50e641df152f7109ed5456b412b1da197fb71123acd3a729901d1a71874700133107ec53"),
		A:        hexInt("7bc382c63d8c150c3c72080ace05afa0c2bea28e4fb22787139165efba91f90f8aa5814a503ad4eb04a8c7dd22ce2826"),
		B:        hexInt("04a8c7dd22ce28268b39b55416f0447c2fb77de107dcd2a62e880ea53eeb62d57cb4390295dbc9943ab78696fa504c11"),
		Gx:       hexInt("1d1c64f068cf45ffa2a63a81b7c13f6b8847a3e77ef14fe3db7fcafe0cbd10e8e826e03436d646aaef87b2e247d4af1e"),
		Gy:       hexInt("8abe1d7520f9c2a45cb1eb8e95cfd55262b70b29feec5864e19c054ff99129280e4646217791811142820341263c5315"),
		N:        hexInt("8cb91e82a3386d280f5d6f7e50e641df152f7109ed5456b31f166e6cac0425a7cf3ab6af6b7fc3103b883202e9046565"),
		Cofactor: 1,
	}
}

// BrainpoolP512r1 returns the RFC 5639 curve brainpoolP512r1.
func BrainpoolP512r1() *Curve {
	return &Curve{
		Name: "brainpoolP512r1", OID: oidBrainpoolP512r1,
		P:        hexInt("aadd9db8dbe9c48b3fd4e6ae33c9fc07cb308db3b3c9d20ed6639cca703308717d4d9b009bc66842aecda12ae6a380e62881ff2f2d82c68528aa6056583a48f3"),
		A:        hexInt("7830a3318b603b89e2327145ac234cc594cbdd8d3df91610a83441caea9863bc2ded5d5aa8253aa10a2ef1c98b9ac8b57f1117a72bf2c7b9e7c1ac4d77fc94ca"),
		B:        hexInt("3df91610a83441caea9863bc2ded5d5aa8253aa10a2ef1c98b9ac8b57f1117a72bf2c7b9e7c1ac4d77fc94cadc083e67984050b75ebae5dd2809bd638016f723"),
		Gx:       hexInt("81aee4bdd82ed9645a21322e9c4c6a9385ed9f70b5d916c1b43b62eef4d0098eff3b1f78e2d0d48d50d1687b93b97d5f7c6d5047406a5e688b352209bcb9f822"),
		Gy:       hexInt("7dde385d566332ecc0eabfa9cf7822fdf209f70024a57b1aa000c55b881f8111b2dcde494a5f485e5bca4bd88a2763aed1ca2b2fa8f0540678cd1e0f3ad80892"),
		N:        hexInt("aadd9db8dbe9c48b3fd4e6ae33c9fc07cb308db3b3c9d20ed6639cca70330870553e5c414ca92619418661197fac10471db1d381085ddaddb58796829ca90069"),
		Cofactor: 1,
	}
}

func fromNIST(name string, oid asn1.ObjectIdentifier, c elliptic.Curve) *Curve {
	p := c.Params()
	return &Curve{
		Name: name, OID: oid,
		P: p.P, A: new(big.Int).Sub(p.P, big.NewInt(3)), B: p.B,
		Gx: p.Gx, Gy: p.Gy, N: p.N, Cofactor: 1, NIST: c,
	}
}

// Known returns every curve this package can name.
func Known() []*Curve {
	return []*Curve{
		fromNIST("P-224", oidP224, elliptic.P224()),
		fromNIST("P-256", oidP256, elliptic.P256()),
		fromNIST("P-384", oidP384, elliptic.P384()),
		fromNIST("P-521", oidP521, elliptic.P521()),
		BrainpoolP256r1(), BrainpoolP384r1(), BrainpoolP512r1(),
	}
}

// ByOID returns the named curve with the given OID, or nil.
func ByOID(oid asn1.ObjectIdentifier) *Curve {
	for _, c := range Known() {
		if c.OID.Equal(oid) {
			return c
		}
	}
	return nil
}

// ByName returns the named curve ("P-256", "brainpoolP384r1", …), or nil.
func ByName(name string) *Curve {
	for _, c := range Known() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Identify returns the known curve with exactly these parameters, or nil.
func Identify(p, a, b, gx, gy, n *big.Int) *Curve {
	for _, c := range Known() {
		if c.P.Cmp(p) == 0 && c.A.Cmp(a) == 0 && c.B.Cmp(b) == 0 &&
			c.Gx.Cmp(gx) == 0 && c.Gy.Cmp(gy) == 0 && c.N.Cmp(n) == 0 {
			return c
		}
	}
	return nil
}

// ByteLen is the length in bytes of a field element.
func (c *Curve) ByteLen() int { return (c.P.BitLen() + 7) / 8 }

// OrderByteLen is the length in bytes of a scalar.
func (c *Curve) OrderByteLen() int { return (c.N.BitLen() + 7) / 8 }

// IsOnCurve reports whether (x, y) satisfies the curve equation with
// coordinates in range.
func (c *Curve) IsOnCurve(x, y *big.Int) bool {
	if x == nil || y == nil || x.Sign() < 0 || y.Sign() < 0 || x.Cmp(c.P) >= 0 || y.Cmp(c.P) >= 0 {
		return false
	}
	lhs := new(big.Int).Mul(y, y)
	lhs.Mod(lhs, c.P)
	rhs := new(big.Int).Mul(x, x)
	rhs.Mul(rhs, x)
	ax := new(big.Int).Mul(c.A, x)
	rhs.Add(rhs, ax)
	rhs.Add(rhs, c.B)
	rhs.Mod(rhs, c.P)
	return lhs.Cmp(rhs) == 0
}

// Validate performs sanity checks on parameters that came from outside:
// sizes, generator on the curve, non-singular curve.
func (c *Curve) Validate() bool {
	if c.P == nil || c.A == nil || c.B == nil || c.Gx == nil || c.Gy == nil || c.N == nil {
		return false
	}
	if c.P.BitLen() < 160 || c.P.BitLen() > 1024 || c.P.Bit(0) == 0 || c.N.BitLen() < 160 || c.N.BitLen() > 1040 {
		return false
	}
	if c.A.Sign() < 0 || c.A.Cmp(c.P) >= 0 || c.B.Sign() < 0 || c.B.Cmp(c.P) >= 0 {
		return false
	}
	// 4a³ + 27b² ≠ 0 mod p
	a3 := new(big.Int).Exp(c.A, big.NewInt(3), c.P)
	a3.Mul(a3, big.NewInt(4))
	b2 := new(big.Int).Exp(c.B, big.NewInt(2), c.P)
	b2.Mul(b2, big.NewInt(27))
	if a3.Add(a3, b2).Mod(a3, c.P).Sign() == 0 {
		return false
	}
	if !c.P.ProbablyPrime(8) || !c.N.ProbablyPrime(8) {
		return false
	}
	return c.IsOnCurve(c.Gx, c.Gy)
}

// jacobian point (X, Y, Z) representing (X/Z², Y/Z³); Z = 0 is infinity.
type jpoint struct{ x, y, z *big.Int }

func (c *Curve) toJ(x, y *big.Int) jpoint {
	return jpoint{new(big.Int).Set(x), new(big.Int).Set(y), big.NewInt(1)}
}

func (c *Curve) fromJ(p jpoint) (x, y *big.Int) {
	if p.z.Sign() == 0 {
		return nil, nil
	}
	zinv := new(big.Int).ModInverse(p.z, c.P)
	zinv2 := new(big.Int).Mul(zinv, zinv)
	x = new(big.Int).Mul(p.x, zinv2)
	x.Mod(x, c.P)
	zinv2.Mul(zinv2, zinv)
	y = new(big.Int).Mul(p.y, zinv2)
	y.Mod(y, c.P)
	return x, y
}

func (c *Curve) double(p jpoint) jpoint {
	if p.z.Sign() == 0 || p.y.Sign() == 0 {
		return jpoint{new(big.Int), big.NewInt(1), new(big.Int)}
	}
	P := c.P
	// s = 4·x·y², m = 3·x² + a·z⁴
	y2 := new(big.Int).Mul(p.y, p.y)
	y2.Mod(y2, P)
	s := new(big.Int).Mul(p.x, y2)
	s.Lsh(s, 2).Mod(s, P)
	z2 := new(big.Int).Mul(p.z, p.z)
	z4 := new(big.Int).Mul(z2, z2)
	z4.Mod(z4, P)
	m := new(big.Int).Mul(p.x, p.x)
	m.Mul(m, big.NewInt(3))
	m.Add(m, new(big.Int).Mul(c.A, z4))
	m.Mod(m, P)
	x3 := new(big.Int).Mul(m, m)
	x3.Sub(x3, new(big.Int).Lsh(s, 1))
	x3.Mod(x3, P)
	y4 := new(big.Int).Mul(y2, y2)
	y4.Lsh(y4, 3)
	y3 := new(big.Int).Sub(s, x3)
	y3.Mul(y3, m)
	y3.Sub(y3, y4)
	y3.Mod(y3, P)
	z3 := new(big.Int).Mul(p.y, p.z)
	z3.Lsh(z3, 1).Mod(z3, P)
	return jpoint{x3, y3, z3}
}

func (c *Curve) add(p, q jpoint) jpoint {
	if p.z.Sign() == 0 {
		return q
	}
	if q.z.Sign() == 0 {
		return p
	}
	P := c.P
	z1z1 := new(big.Int).Mul(p.z, p.z)
	z1z1.Mod(z1z1, P)
	z2z2 := new(big.Int).Mul(q.z, q.z)
	z2z2.Mod(z2z2, P)
	u1 := new(big.Int).Mul(p.x, z2z2)
	u1.Mod(u1, P)
	u2 := new(big.Int).Mul(q.x, z1z1)
	u2.Mod(u2, P)
	s1 := new(big.Int).Mul(p.y, q.z)
	s1.Mul(s1, z2z2).Mod(s1, P)
	s2 := new(big.Int).Mul(q.y, p.z)
	s2.Mul(s2, z1z1).Mod(s2, P)
	if u1.Cmp(u2) == 0 {
		if s1.Cmp(s2) != 0 {
			return jpoint{new(big.Int), big.NewInt(1), new(big.Int)}
		}
		return c.double(p)
	}
	h := new(big.Int).Sub(u2, u1)
	r := new(big.Int).Sub(s2, s1)
	h2 := new(big.Int).Mul(h, h)
	h2.Mod(h2, P)
	h3 := new(big.Int).Mul(h2, h)
	h3.Mod(h3, P)
	u1h2 := new(big.Int).Mul(u1, h2)
	u1h2.Mod(u1h2, P)
	x3 := new(big.Int).Mul(r, r)
	x3.Sub(x3, h3)
	x3.Sub(x3, new(big.Int).Lsh(u1h2, 1))
	x3.Mod(x3, P)
	y3 := new(big.Int).Sub(u1h2, x3)
	y3.Mul(y3, r)
	y3.Sub(y3, new(big.Int).Mul(s1, h3))
	y3.Mod(y3, P)
	z3 := new(big.Int).Mul(p.z, q.z)
	z3.Mul(z3, h).Mod(z3, P)
	return jpoint{x3, y3, z3}
}

// ScalarMult returns k·(x, y); nil coordinates mean the point at infinity.
func (c *Curve) ScalarMult(x, y, k *big.Int) (*big.Int, *big.Int) {
	return c.fromJ(c.mul(c.toJ(x, y), k))
}

func (c *Curve) mul(p jpoint, k *big.Int) jpoint {
	r := jpoint{new(big.Int), big.NewInt(1), new(big.Int)}
	for i := k.BitLen() - 1; i >= 0; i-- {
		r = c.double(r)
		if k.Bit(i) == 1 {
			r = c.add(r, p)
		}
	}
	return r
}

// ScalarBaseMult returns k·G.
func (c *Curve) ScalarBaseMult(k *big.Int) (*big.Int, *big.Int) {
	return c.ScalarMult(c.Gx, c.Gy, k)
}

// Marshal encodes a point uncompressed (0x04 ‖ X ‖ Y).
func (c *Curve) Marshal(x, y *big.Int) []byte {
	n := c.ByteLen()
	out := make([]byte, 1+2*n)
	out[0] = 4
	x.FillBytes(out[1 : 1+n])
	y.FillBytes(out[1+n:])
	return out
}

// Unmarshal decodes an uncompressed point and checks it is on the curve.
func (c *Curve) Unmarshal(b []byte) (x, y *big.Int, ok bool) {
	n := c.ByteLen()
	if len(b) != 1+2*n || b[0] != 4 {
		return nil, nil, false
	}
	x = new(big.Int).SetBytes(b[1 : 1+n])
	y = new(big.Int).SetBytes(b[1+n:])
	if !c.IsOnCurve(x, y) {
		return nil, nil, false
	}
	return x, y, true
}

// mulAdd returns u1·G + u2·Q with one shared doubling chain (Shamir's
// trick), about half the doublings of two separate multiplications.
func (c *Curve) mulAdd(u1, u2 *big.Int, q jpoint) jpoint {
	g := c.toJ(c.Gx, c.Gy)
	gq := c.add(g, q)
	r := jpoint{new(big.Int), big.NewInt(1), new(big.Int)}
	n := u1.BitLen()
	if u2.BitLen() > n {
		n = u2.BitLen()
	}
	for i := n - 1; i >= 0; i-- {
		r = c.double(r)
		switch {
		case u1.Bit(i) == 1 && u2.Bit(i) == 1:
			r = c.add(r, gq)
		case u1.Bit(i) == 1:
			r = c.add(r, g)
		case u2.Bit(i) == 1:
			r = c.add(r, q)
		}
	}
	return r
}
