package ecc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"math/big"
	"math/rand/v2"
	"testing"
)

type seeded struct{ r *rand.ChaCha8 }

func (s seeded) Read(p []byte) (int, error) { return s.r.Read(p) }

func TestCurvesValidate(t *testing.T) {
	for _, c := range Known() {
		if !c.Validate() {
			t.Errorf("%s: parameters do not validate", c.Name)
		}
		// n·G = ∞
		x, _ := c.ScalarBaseMult(c.N)
		if x != nil {
			t.Errorf("%s: n·G is not infinity", c.Name)
		}
	}
}

func TestGenericMatchesStdlib(t *testing.T) {
	c := ByName("P-256")
	k := big.NewInt(123456789)
	gx, gy := c.ScalarBaseMult(k)
	sx, sy := elliptic.P256().ScalarBaseMult(k.Bytes())
	if gx.Cmp(sx) != 0 || gy.Cmp(sy) != 0 {
		t.Fatal("generic scalar multiplication disagrees with crypto/elliptic")
	}
}

func TestSignVerifyBrainpool(t *testing.T) {
	rnd := seeded{rand.NewChaCha8([32]byte{1})}
	digest := sha256.Sum256([]byte("xin chào"))
	for _, c := range []*Curve{BrainpoolP256r1(), BrainpoolP384r1(), BrainpoolP512r1()} {
		t.Run(c.Name, func(t *testing.T) {
			k, err := GenerateKey(c, rnd)
			if err != nil {
				t.Fatal(err)
			}
			r, s, err := SignRS(rnd, k, digest[:])
			if err != nil {
				t.Fatal(err)
			}
			if !Verify(&k.PublicKey, digest[:], r, s) {
				t.Fatal("signature does not verify")
			}
			bad := sha256.Sum256([]byte("other"))
			if Verify(&k.PublicKey, bad[:], r, s) {
				t.Fatal("signature verifies over wrong digest")
			}
		})
	}
}

func TestVerifyGenericAgainstStdlibSignature(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P384(), seeded{rand.NewChaCha8([32]byte{2})})
	digest := sha256.Sum256([]byte("abc"))
	r, s, err := ecdsa.Sign(seeded{rand.NewChaCha8([32]byte{3})}, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	c := ByName("P-384")
	generic := &Curve{Name: "unnamed", P: c.P, A: c.A, B: c.B, Gx: c.Gx, Gy: c.Gy, N: c.N}
	if !Verify(&PublicKey{Curve: generic, X: key.X, Y: key.Y}, digest[:], r, s) {
		t.Fatal("generic verifier rejects a crypto/ecdsa signature")
	}
}
