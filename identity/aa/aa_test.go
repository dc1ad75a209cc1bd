package aa

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"kyso/internal/sharedvectors"
	"testing"

	"kyso/identity/lds"
	"kyso/identity/pki"
)

func vec(t testing.TB, parts ...string) []byte {
	t.Helper()
	return sharedvectors.Read(t, append([]string{"emrtd"}, parts...)...)
}

// The real-world exchange from the vectors: RSA-1792, trailer 0x34CC
// (SHA-256), SHA-256(M1‖RND.IFD) = D.
func TestRealRSAExchange(t *testing.T) {
	pub, err := lds.ParseDG15(vec(t, "gmrtd_aa_rsa_realworld", "DG15.bin"))
	if err != nil {
		t.Fatal(err)
	}
	nonce := vec(t, "gmrtd_aa_rsa_realworld", "RND_IFD.bin")
	sig := vec(t, "gmrtd_aa_rsa_realworld", "INTERNAL_AUTHENTICATE_response.bin")
	if err := Verify(pub, nil, nonce, sig); err != nil {
		t.Fatal(err)
	}
	_, _, h, _ := Recover(pub, sig)
	if h != crypto.SHA256 {
		t.Errorf("hash %v, want SHA-256", h)
	}
	other := append([]byte(nil), nonce...)
	other[0] ^= 1
	if err := Verify(pub, nil, other, sig); !errors.Is(err, ErrFailed) {
		t.Fatalf("other nonce: %v", err)
	}
}

func TestRSARoundTrip(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	pub := &pki.PublicKey{RSA: &key.PublicKey}
	nonce := []byte("12345678")
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		sig, err := SignRSA(rand.Reader, key, h, nonce)
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(pub, nil, nonce, sig); err != nil {
			t.Errorf("%v: %v", h, err)
		}
		sig[10] ^= 1
		if err := Verify(pub, nil, nonce, sig); err == nil {
			t.Errorf("%v: tampered signature verifies", h)
		}
	}
}

func TestECDSA(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, _ := pki.FromCrypto(&key.PublicKey)
	nonce := []byte("abcdefgh")
	d := sha256.Sum256(nonce)
	der, _ := ecdsa.SignASN1(rand.Reader, key, d[:])
	dg14 := &lds.DG14{AAHash: crypto.SHA256}
	if err := Verify(pub, dg14, nonce, der); err != nil {
		t.Fatalf("DER: %v", err)
	}
	r, s, _ := ecdsa.Sign(rand.Reader, key, d[:])
	plain := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	if err := Verify(pub, dg14, nonce, plain); err != nil {
		t.Fatalf("plain: %v", err)
	}
	if err := Verify(pub, &lds.DG14{AAHash: crypto.SHA384}, nonce, plain); err == nil {
		t.Fatal("wrong hash verifies")
	}
}

func FuzzRecover(f *testing.F) {
	pub, err := lds.ParseDG15(vec(f, "gmrtd_aa_rsa_realworld", "DG15.bin"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(vec(f, "gmrtd_aa_rsa_realworld", "INTERNAL_AUTHENTICATE_response.bin"))
	f.Fuzz(func(t *testing.T, sig []byte) {
		_ = Verify(pub, nil, []byte("12345678"), sig)
	})
}
