package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	gojose "github.com/go-jose/go-jose/v4"
)

// TestJWSAlgorithms checks signature values of every accepted algorithm,
// made by go-jose, and the refusals: a key of another type or curve, a
// changed value, an RSA key below the policy's size.
func TestJWSAlgorithms(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	keys := map[gojose.SignatureAlgorithm]crypto.Signer{
		gojose.RS256: rsaKey, gojose.RS384: rsaKey, gojose.RS512: rsaKey,
		gojose.PS256: rsaKey, gojose.PS384: rsaKey, gojose.PS512: rsaKey,
		gojose.ES256: p256, gojose.ES384: p384, gojose.ES512: p521, gojose.EdDSA: edKey,
	}
	for alg, key := range keys {
		t.Run(string(alg), func(t *testing.T) {
			s, err := gojose.NewSigner(gojose.SigningKey{Algorithm: alg, Key: key}, nil)
			if err != nil {
				t.Fatal(err)
			}
			obj, err := s.Sign([]byte(`{"a":1}`))
			if err != nil {
				t.Fatal(err)
			}
			tok, _ := obj.CompactSerialize()
			parts := strings.Split(tok, ".")
			input := []byte(parts[0] + "." + parts[1])
			value := obj.Signatures[0].Signature
			if err := VerifyValue(key.Public(), string(alg), input, value); err != nil {
				t.Fatalf("valid signature: %v", err)
			}
			changed := append([]byte(nil), value...)
			changed[len(changed)/2] ^= 1
			if err := VerifyValue(key.Public(), string(alg), input, changed); err == nil {
				t.Fatal("changed value verified")
			}
			other := crypto.PublicKey(p384.Public())
			if alg == gojose.ES384 {
				other = p256.Public()
			}
			if err := VerifyValue(other, string(alg), input, value); err == nil {
				t.Fatal("verified with a key of another type or curve")
			}
		})
	}
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Skipf("no 1024-bit RSA key: %v", err)
	}
	sum := sha256.Sum256([]byte("a.b"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, weak, crypto.SHA256, sum[:])
	if err != nil {
		t.Skipf("no 1024-bit RSA signature: %v", err)
	}
	var ce *ConstraintError
	if err := VerifyValue(weak.Public(), "RS256", []byte("a.b"), sig); !errors.As(err, &ce) {
		t.Fatalf("weak RSA key: %v", err)
	}
	var fe *FormatError
	for _, alg := range []string{"none", "HS256", "XYZ"} {
		if err := VerifyValue(rsaKey.Public(), alg, []byte("a.b"), sig); !errors.As(err, &fe) {
			t.Fatalf("%s: %v", alg, err)
		}
	}
}

// Each signature time-stamp token knows the etsiU position of its sigTst
// element, which the archive time-stamps after it cover.
func TestUnsignedPositions(t *testing.T) {
	tok := `{"val":"MAA="}`
	u := ParseUnsigned([]json.RawMessage{
		json.RawMessage(`{"xVals":[]}`),
		json.RawMessage(`{"sigTst":{"tstTokens":[` + tok + `,` + tok + `]}}`),
		json.RawMessage(`{"arcTst":{"tstTokens":[` + tok + `]}}`),
		json.RawMessage(`{"sigTst":{"tstTokens":[` + tok + `]}}`),
		json.RawMessage(`{"sigPSt":{}}`),
	})
	if len(u.SigTst) != 3 || fmt.Sprint(u.SigTstAt) != "[1 1 3]" {
		t.Fatalf("sigTst tokens %d at %v", len(u.SigTst), u.SigTstAt)
	}
	if len(u.ArcTst) != 1 || u.ArcTst[0].Index != 2 || u.ArcTst[0].Err != nil {
		t.Fatalf("arcTst %+v", u.ArcTst)
	}
	if fmt.Sprint(u.Unknown) != "[sigPSt]" || len(u.Entries) != 5 || !u.Entries[0].Clear {
		t.Fatalf("unknown %v entries %+v", u.Unknown, u.Entries)
	}
}
