package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"

	gojose "github.com/go-jose/go-jose/v4"
)

// ErrUnsupportedKey is returned for keys no JWS algorithm here signs with.
var ErrUnsupportedKey = errors.New("jose: unsupported key")

// KeySigner adapts a crypto.Signer (an HSM key) to go-jose's
// OpaqueSigner: the digest is computed here and the key signs it, and
// ECDSA signatures are turned into the fixed r‖s form JWS uses.
type KeySigner struct {
	signer crypto.Signer
	alg    gojose.SignatureAlgorithm
	jwk    gojose.JSONWebKey
}

// NewKeySigner picks the JWS algorithm for the key: ES256, ES384 or ES512
// by curve; RS256 or (pss) PS256 for RSA of at least MinRSABits; EdDSA for
// Ed25519. The JWK's kid is its RFC 7638 thumbprint.
func NewKeySigner(s crypto.Signer, pss bool) (*KeySigner, error) {
	var alg gojose.SignatureAlgorithm
	switch k := s.Public().(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			alg = gojose.ES256
		case elliptic.P384():
			alg = gojose.ES384
		case elliptic.P521():
			alg = gojose.ES512
		default:
			return nil, fmt.Errorf("%w: ECDSA curve %s", ErrUnsupportedKey, k.Curve.Params().Name)
		}
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return nil, fmt.Errorf("%w: RSA key of %d bits", ErrUnsupportedKey, k.N.BitLen())
		}
		alg = gojose.RS256
		if pss {
			alg = gojose.PS256
		}
	case ed25519.PublicKey:
		alg = gojose.EdDSA
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, k)
	}
	jwk := gojose.JSONWebKey{Key: s.Public(), Algorithm: string(alg), Use: "sig"}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("jose: key thumbprint: %w", err)
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	return &KeySigner{signer: s, alg: alg, jwk: jwk}, nil
}

// Algorithm is the JWS algorithm the key signs with.
func (k *KeySigner) Algorithm() gojose.SignatureAlgorithm { return k.alg }

// Public implements gojose.OpaqueSigner.
func (k *KeySigner) Public() *gojose.JSONWebKey { j := k.jwk; return &j }

// Algs implements gojose.OpaqueSigner.
func (k *KeySigner) Algs() []gojose.SignatureAlgorithm { return []gojose.SignatureAlgorithm{k.alg} }

// SignPayload implements gojose.OpaqueSigner.
func (k *KeySigner) SignPayload(payload []byte, alg gojose.SignatureAlgorithm) ([]byte, error) {
	if alg != k.alg {
		return nil, fmt.Errorf("jose: key signs %s, not %s", k.alg, alg)
	}
	if alg == gojose.EdDSA {
		return k.signer.Sign(rand.Reader, payload, crypto.Hash(0))
	}
	h := Hash(string(alg))
	d := h.New()
	d.Write(payload)
	var opts crypto.SignerOpts = h
	if alg == gojose.PS256 {
		opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}
	}
	sig, err := k.signer.Sign(rand.Reader, d.Sum(nil), opts)
	if err != nil {
		return nil, fmt.Errorf("jose: sign: %w", err)
	}
	if pub, ok := k.signer.Public().(*ecdsa.PublicKey); ok {
		return ecdsaRaw(sig, (pub.Curve.Params().BitSize+7)/8)
	}
	return sig, nil
}

// ecdsaRaw converts an ASN.1 ECDSA signature to the r‖s form JWS uses.
func ecdsaRaw(der []byte, size int) ([]byte, error) {
	var v struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(der, &v); err != nil || len(rest) != 0 {
		if len(der) == 2*size { // already r‖s
			return der, nil
		}
		return nil, fmt.Errorf("jose: ECDSA signature is not DER: %v", err)
	}
	if v.R.Sign() < 0 || v.S.Sign() < 0 || v.R.BitLen() > 8*size || v.S.BitLen() > 8*size {
		return nil, errors.New("jose: ECDSA signature values out of range")
	}
	out := make([]byte, 2*size)
	v.R.FillBytes(out[:size])
	v.S.FillBytes(out[size:])
	return out, nil
}
