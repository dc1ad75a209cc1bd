package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// MinRSABits is the smallest RSA modulus accepted for JWS signatures.
const MinRSABits = 2048

// ConstraintError is an algorithm or key the validation policy does not
// accept: CRYPTO_CONSTRAINTS_FAILURE.
type ConstraintError struct{ msg string }

func (e *ConstraintError) Error() string { return e.msg }

var ErrSignature = errors.New("the signature value does not verify with the signing certificate's key")

// VerifyValue checks a JWS signature value (RFC 7518 §3, RFC 8037) over
// input with pub. A format defect (alg none, a MAC, an unknown alg) is a
// *FormatError; a key the policy refuses (RSA below MinRSABits) a
// *ConstraintError; a wrong value ErrSignature.
func VerifyValue(pub crypto.PublicKey, alg string, input, value []byte) error {
	var h crypto.Hash
	switch alg {
	case "RS256", "PS256", "ES256":
		h = crypto.SHA256
	case "RS384", "PS384", "ES384":
		h = crypto.SHA384
	case "RS512", "PS512", "ES512":
		h = crypto.SHA512
	case "EdDSA":
		k, ok := pub.(ed25519.PublicKey)
		if !ok {
			return fmt.Errorf("alg EdDSA with a %s key", KeyName(pub))
		}
		if !ed25519.Verify(k, input, value) {
			return ErrSignature
		}
		return nil
	case "none":
		return formatErr("an unsecured JWS (alg none) has no signature")
	case "HS256", "HS384", "HS512":
		return formatErr("alg %s is a MAC, not a signature", alg)
	default:
		return formatErr("unsupported alg %q", alg)
	}
	d := h.New()
	d.Write(input)
	sum := d.Sum(nil)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return &ConstraintError{msg: fmt.Sprintf("RSA key of %d bits; at least %d are required", k.N.BitLen(), MinRSABits)}
		}
		switch alg[:2] {
		case "RS":
			if rsa.VerifyPKCS1v15(k, h, sum, value) != nil {
				return ErrSignature
			}
		case "PS":
			if rsa.VerifyPSS(k, h, sum, value, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}) != nil {
				return ErrSignature
			}
		default:
			return fmt.Errorf("alg %s with an RSA key", alg)
		}
	case *ecdsa.PublicKey:
		want := map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}[alg]
		if want == nil || k.Curve != want {
			return fmt.Errorf("alg %s with a %s key", alg, KeyName(pub))
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		if len(value) != 2*size {
			return ErrSignature
		}
		r, s := new(big.Int).SetBytes(value[:size]), new(big.Int).SetBytes(value[size:])
		if !ecdsa.Verify(k, sum, r, s) {
			return ErrSignature
		}
	default:
		return fmt.Errorf("alg %s with a %s key", alg, KeyName(pub))
	}
	return nil
}

// KeyName names a public key type for messages.
func KeyName(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", pub)
}

// Hash is the digest a JWS algorithm uses (0 for EdDSA, whose digest is
// part of the key algorithm).
func Hash(alg string) crypto.Hash {
	switch {
	case strings.HasSuffix(alg, "256"):
		return crypto.SHA256
	case strings.HasSuffix(alg, "384"):
		return crypto.SHA384
	case strings.HasSuffix(alg, "512"):
		return crypto.SHA512
	}
	return 0
}
