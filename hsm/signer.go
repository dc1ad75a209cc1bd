package hsm

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/miekg/pkcs11"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"kyso/hashoid"
)

// Sign signs digest with the key in the token; rand is not used (the token
// has its own random number generator). For an RSA key, opts of type
// *rsa.PSSOptions selects RSASSA-PSS (CKM_RSA_PKCS_PSS), anything else
// RSASSA-PKCS1-v1_5 (CKM_RSA_PKCS over the DigestInfo for opts.HashFunc(),
// or over digest as it is when the hash is zero). For an ECDSA key the
// signature is ASN.1 DER, as ecdsa.VerifyASN1 expects. An Ed25519 key
// signs the message itself (opts.HashFunc() must be zero) with CKM_EDDSA.
func (k *Key) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.SignContext(context.Background(), digest, opts)
}

// SignContext is Sign with a context that bounds waiting for a session and
// recovery.
func (k *Key) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts == nil {
		return nil, errors.New("hsm: sign: nil options")
	}
	mech, input, name, err := k.mechanism(digest, opts)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	var sig []byte
	err = k.h.do(ctx, func(o *op) error {
		s, err := k.signOnce(o, mech, input)
		if IsPKCS11Error(err, pkcs11.CKR_KEY_HANDLE_INVALID) || IsPKCS11Error(err, pkcs11.CKR_OBJECT_HANDLE_INVALID) {
			// The object may have been replaced; find it again
			// before treating the session as broken.
			k.forget()
			again, err2 := k.signOnce(o, mech, input)
			if !errors.Is(err2, ErrKeyNotFound) {
				// When the key is not found, keep the first error: the
				// objects may only be hidden by a lost login, which
				// recovery restores before the key is looked up again.
				s, err = again, err2
			}
		}
		sig = s
		return err
	})
	if err == nil && name == "ECDSA" {
		sig, err = ecdsaDER(sig)
	}
	k.h.metrics.observe(k.label, name, start, err)
	if err != nil {
		return nil, fmt.Errorf("hsm: signing with key %q: %w", k.label, err)
	}
	return sig, nil
}

func (k *Key) signOnce(o *op, mech *pkcs11.Mechanism, input []byte) ([]byte, error) {
	hd, err := k.objectHandle(o)
	if err != nil {
		return nil, err
	}
	if err := k.h.p.SignInit(o.s, []*pkcs11.Mechanism{mech}, hd); err != nil {
		return nil, err
	}
	return k.h.p.Sign(o.s, input)
}

// mechanism returns the PKCS#11 mechanism, the data to pass to C_Sign and
// the mechanism's name for the metrics.
func (k *Key) mechanism(digest []byte, opts crypto.SignerOpts) (*pkcs11.Mechanism, []byte, string, error) {
	return signMechanism(k.pub, digest, opts)
}

// signMechanism returns the PKCS#11 mechanism, the data to pass to C_Sign
// and the mechanism's name for a private key whose public key is pub.
func signMechanism(pubKey crypto.PublicKey, digest []byte, opts crypto.SignerOpts) (*pkcs11.Mechanism, []byte, string, error) {
	hash := opts.HashFunc()
	if hash != 0 && len(digest) != hash.Size() {
		return nil, nil, "", fmt.Errorf("hsm: digest is %d bytes, %v needs %d", len(digest), hash, hash.Size())
	}
	switch pub := pubKey.(type) {
	case *rsa.PublicKey:
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			params, err := pssParams(pub, hash, pss.SaltLength)
			if err != nil {
				return nil, nil, "", err
			}
			return pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_PSS, params), digest, "RSA_PKCS_PSS", nil
		}
		input := digest
		if hash != 0 {
			var err error
			if input, err = digestInfo(hash, digest); err != nil {
				return nil, nil, "", err
			}
		}
		if len(input) > pub.Size()-11 {
			return nil, nil, "", fmt.Errorf("hsm: %d bytes to sign are too many for a %d-bit key", len(input), pub.N.BitLen())
		}
		return pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil), input, "RSA_PKCS", nil
	case *ecdsa.PublicKey:
		if len(digest) == 0 {
			return nil, nil, "", errors.New("hsm: empty digest")
		}
		return pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil), digest, "ECDSA", nil
	case ed25519.PublicKey:
		// Pure Ed25519 signs the message itself, as ed25519.PrivateKey
		// does with crypto.Hash(0).
		if hash != 0 {
			return nil, nil, "", fmt.Errorf("%w: Ed25519 with a pre-hash (%v)", ErrUnsupported, hash)
		}
		return pkcs11.NewMechanism(ckmEdDSA, nil), digest, "EDDSA", nil
	}
	return nil, nil, "", fmt.Errorf("%w: public key of type %T", ErrUnsupported, pubKey)
}

// pssParams builds CK_RSA_PKCS_PSS_PARAMS for hash and Go's salt length
// convention: rsa.PSSSaltLengthEqualsHash is the hash size,
// rsa.PSSSaltLengthAuto the largest salt the key allows (as rsa.SignPSS
// does), a positive value itself.
func pssParams(pub *rsa.PublicKey, hash crypto.Hash, saltLength int) ([]byte, error) {
	var hashMech, mgf uint
	switch hash {
	case crypto.SHA1:
		hashMech, mgf = pkcs11.CKM_SHA_1, pkcs11.CKG_MGF1_SHA1
	case crypto.SHA224:
		hashMech, mgf = pkcs11.CKM_SHA224, pkcs11.CKG_MGF1_SHA224
	case crypto.SHA256:
		hashMech, mgf = pkcs11.CKM_SHA256, pkcs11.CKG_MGF1_SHA256
	case crypto.SHA384:
		hashMech, mgf = pkcs11.CKM_SHA384, pkcs11.CKG_MGF1_SHA384
	case crypto.SHA512:
		hashMech, mgf = pkcs11.CKM_SHA512, pkcs11.CKG_MGF1_SHA512
	default:
		return nil, fmt.Errorf("%w: RSA-PSS with hash %v", ErrUnsupported, hash)
	}
	// emLen per RFC 8017 section 9.1.1: ceil((modBits-1)/8).
	emLen := (pub.N.BitLen() - 1 + 7) / 8
	maxSalt := emLen - hash.Size() - 2
	salt := saltLength
	switch {
	case saltLength == rsa.PSSSaltLengthEqualsHash:
		salt = hash.Size()
	case saltLength == rsa.PSSSaltLengthAuto:
		salt = maxSalt
	case saltLength < 0:
		return nil, fmt.Errorf("hsm: invalid PSS salt length %d", saltLength)
	}
	if salt > maxSalt || salt < 0 {
		return nil, fmt.Errorf("hsm: PSS salt length %d does not fit a %d-bit key with %v", salt, pub.N.BitLen(), hash)
	}
	return pkcs11.NewPSSParams(hashMech, mgf, uint(salt)), nil
}

// digestInfo encodes the DigestInfo of RFC 8017 section 9.2, which
// CKM_RSA_PKCS signs as it is:
//
//	DigestInfo ::= SEQUENCE { digestAlgorithm AlgorithmIdentifier, digest OCTET STRING }
//
// with the hash's OID and NULL parameters.
func digestInfo(hash crypto.Hash, digest []byte) ([]byte, error) {
	oid, ok := hashoid.OID(hash)
	if !ok {
		return nil, fmt.Errorf("%w: RSA PKCS#1 v1.5 with hash %v", ErrUnsupported, hash)
	}
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			b.AddASN1NULL()
		})
		b.AddASN1OctetString(digest)
	})
	return b.Bytes()
}

// ecdsaDER converts the r||s signature of CKM_ECDSA (PKCS#11 section 2.3.1:
// two big-endian integers of equal length) to the DER
// SEQUENCE { r INTEGER, s INTEGER } of RFC 3279.
func ecdsaDER(raw []byte) ([]byte, error) {
	if len(raw) == 0 || len(raw)%2 != 0 {
		return nil, fmt.Errorf("hsm: ECDSA signature of %d bytes", len(raw))
	}
	r := new(big.Int).SetBytes(raw[:len(raw)/2])
	s := new(big.Int).SetBytes(raw[len(raw)/2:])
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(r)
		b.AddASN1BigInt(s)
	})
	return b.Bytes()
}
