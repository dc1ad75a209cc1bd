package hsm_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"testing"

	"github.com/miekg/pkcs11"

	"kyso/hsm"
	"kyso/hsm/hsmtest"
)

func activation(t *testing.T) []byte {
	t.Helper()
	a := make([]byte, hsm.ActivationLen)
	if _, err := rand.Read(a); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestWrappedKeySignsOnlyWithItsActivationData(t *testing.T) {
	ctx := context.Background()
	h := hsmtest.New(t)
	if err := h.GenerateSecret(ctx, "citizen-kek"); err != nil {
		t.Fatal(err)
	}
	if err := h.GenerateSecret(ctx, "citizen-kek"); !errors.Is(err, hsm.ErrKeyExists) {
		t.Fatalf("second secret with the label: %v, want ErrKeyExists", err)
	}
	if ok, err := h.HasSecret(ctx, "citizen-kek"); err != nil || !ok {
		t.Fatalf("HasSecret = %v, %v", ok, err)
	}
	if ok, err := h.HasSecret(ctx, "other"); err != nil || ok {
		t.Fatalf("HasSecret(other) = %v, %v", ok, err)
	}
	for _, typ := range []hsm.KeyType{hsm.ECP256, hsm.ECP384, hsm.RSA2048} {
		t.Run(string(typ), func(t *testing.T) {
			act := activation(t)
			blob, pub, err := h.GenerateWrappedKey(ctx, "citizen-kek", act, typ)
			if err != nil {
				t.Fatal(err)
			}
			// Nothing of the key stays on the token.
			keys, err := h.ListKeys(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != 0 {
				t.Fatalf("private keys on the token after wrapping: %v", keys)
			}
			w, err := h.WrappedKey("citizen-kek", act, blob, pub, "test")
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Check(ctx); err != nil {
				t.Fatalf("Check with the right activation data: %v", err)
			}
			d := digest(crypto.SHA256, "document")
			var opts crypto.SignerOpts = crypto.SHA256
			sig, err := w.Sign(rand.Reader, d, opts)
			if err != nil {
				t.Fatal(err)
			}
			verify(t, pub, d, sig, opts)
			if _, ok := pub.(*rsa.PublicKey); ok {
				pss := &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthEqualsHash}
				sig, err := w.Sign(rand.Reader, d, pss)
				if err != nil {
					t.Fatal(err)
				}
				verify(t, pub, d, sig, pss)
			}
			// The unwrapped key was a session object, destroyed after use.
			if keys, _ := h.ListKeys(ctx); len(keys) != 0 {
				t.Fatalf("private keys on the token after signing: %v", keys)
			}

			// A wrong activation data (a wrong PIN) opens nothing.
			bad, err := h.WrappedKey("citizen-kek", activation(t), blob, pub, "test")
			if err != nil {
				t.Fatal(err)
			}
			if err := bad.Check(ctx); !errors.Is(err, hsm.ErrActivation) {
				t.Fatalf("Check with wrong activation data: %v, want ErrActivation", err)
			}
			if _, err := bad.Sign(rand.Reader, d, opts); !errors.Is(err, hsm.ErrActivation) {
				t.Fatalf("Sign with wrong activation data: %v, want ErrActivation", err)
			}
			// An altered blob opens nothing.
			altered := bytes.Clone(blob)
			altered[len(altered)/2] ^= 1
			if w2, _ := h.WrappedKey("citizen-kek", act, altered, pub, "test"); w2.Check(ctx) == nil {
				t.Fatal("an altered blob unwrapped")
			}
			// Forgotten activation data opens nothing.
			w.Forget()
			if _, err := w.Sign(rand.Reader, d, opts); !errors.Is(err, hsm.ErrActivation) {
				t.Fatalf("Sign after Forget: %v, want ErrActivation", err)
			}
		})
	}
}

// TestWrappedKeyNeedsTheTokensSecret shows that the blob and the right
// activation data are not enough on another token: the derivation secret
// never leaves the token it was made on.
func TestWrappedKeyNeedsTheTokensSecret(t *testing.T) {
	ctx := context.Background()
	h1, h2 := hsmtest.New(t), hsmtest.New(t)
	for _, h := range []*hsm.HSM{h1, h2} {
		if err := h.GenerateSecret(ctx, "citizen-kek"); err != nil {
			t.Fatal(err)
		}
	}
	act := activation(t)
	blob, pub, err := h1.GenerateWrappedKey(ctx, "citizen-kek", act, hsm.ECP256)
	if err != nil {
		t.Fatal(err)
	}
	w, err := h2.WrappedKey("citizen-kek", act, blob, pub, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Check(ctx); !errors.Is(err, hsm.ErrActivation) {
		t.Fatalf("unwrap on another token: %v, want ErrActivation", err)
	}
	// The secret is sensitive and not extractable, and may only derive.
	for attr, want := range map[uint]bool{
		pkcs11.CKA_SENSITIVE: true, pkcs11.CKA_EXTRACTABLE: false, pkcs11.CKA_DERIVE: true,
		pkcs11.CKA_ENCRYPT: false, pkcs11.CKA_DECRYPT: false, pkcs11.CKA_WRAP: false, pkcs11.CKA_UNWRAP: false,
	} {
		v, err := hsm.SecretAttribute(h1, "citizen-kek", attr)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(v) == 1 && v[0] == 1; got != want {
			t.Errorf("secret attribute %#x = %v, want %v", attr, got, want)
		}
	}
	if _, err := hsm.SecretAttribute(h1, "citizen-kek", pkcs11.CKA_VALUE); err == nil {
		t.Fatal("the secret's value could be read")
	}
}
