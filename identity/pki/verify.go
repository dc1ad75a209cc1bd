package pki

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/asn1"
	"errors"
	"fmt"

	"github.com/cloudflare/circl/sign/ed448"

	"kyso/identity/ecc"
)

// ErrSignature is returned (wrapped) when a signature does not verify.
var ErrSignature = errors.New("pki: signature verification failed")

// ErrUnsupported is returned (wrapped) for algorithms we cannot check.
var ErrUnsupported = errors.New("pki: unsupported algorithm")

type pssParams struct {
	Hash         AlgorithmIdentifier `asn1:"optional,explicit,tag:0"`
	MGF          AlgorithmIdentifier `asn1:"optional,explicit,tag:1"`
	SaltLength   int                 `asn1:"optional,explicit,tag:2,default:20"`
	TrailerField int                 `asn1:"optional,explicit,tag:3,default:1"`
}

// PSSParameters decodes RSASSA-PSS-params (RFC 4055), applying defaults.
func PSSParameters(raw []byte) (hash crypto.Hash, saltLen int, err error) {
	p := pssParams{SaltLength: 20, TrailerField: 1}
	if len(raw) > 0 && !(len(raw) == 2 && raw[0] == 5 && raw[1] == 0) {
		if _, err := asn1.Unmarshal(raw, &p); err != nil {
			return 0, 0, fmt.Errorf("pki: RSASSA-PSS parameters: %w", err)
		}
	}
	hash = crypto.SHA1
	if len(p.Hash.Algorithm) > 0 {
		hash = HashByOID(p.Hash.Algorithm)
	}
	mgfHash := crypto.SHA1
	if len(p.MGF.Algorithm) > 0 {
		if !p.MGF.Algorithm.Equal(OIDMGF1) {
			return 0, 0, fmt.Errorf("%w: mask generation %v", ErrUnsupported, p.MGF.Algorithm)
		}
		var h AlgorithmIdentifier
		if _, err := asn1.Unmarshal(p.MGF.Parameters.FullBytes, &h); err != nil {
			return 0, 0, fmt.Errorf("pki: MGF1 parameters: %w", err)
		}
		mgfHash = HashByOID(h.Algorithm)
	}
	if hash == 0 || mgfHash != hash {
		return 0, 0, fmt.Errorf("%w: PSS with hash %v and MGF1 hash %v", ErrUnsupported, hash, mgfHash)
	}
	if p.TrailerField != 1 || p.SaltLength < 0 {
		return 0, 0, fmt.Errorf("%w: PSS trailer %d salt %d", ErrUnsupported, p.TrailerField, p.SaltLength)
	}
	return hash, p.SaltLength, nil
}

// VerifySignature checks sig over message. sigAlg is the signature
// AlgorithmIdentifier; digestAlg (may be nil) supplies the hash when the
// signature algorithm does not fix it (rsaEncryption, ecPublicKey), as in
// CMS SignerInfos.
func VerifySignature(pub *PublicKey, sigAlg AlgorithmIdentifier, digestAlg asn1.ObjectIdentifier, message, sig []byte) error {
	if pub == nil {
		return errors.New("pki: no public key")
	}
	kind, hash := sigAlgorithm(sigAlg.Algorithm)
	if hash != 0 && !hash.Available() {
		return fmt.Errorf("%w: hash %v", ErrUnsupported, hash)
	}
	if kind == kindPSS {
		h, salt, err := PSSParameters(sigAlg.Parameters.FullBytes)
		if err != nil {
			return err
		}
		if !h.Available() {
			return fmt.Errorf("%w: PSS hash %v", ErrUnsupported, h)
		}
		if pub.RSA == nil {
			return fmt.Errorf("%w: PSS signature with non-RSA key", ErrSignature)
		}
		d := h.New()
		d.Write(message)
		if err := rsa.VerifyPSS(pub.RSA, h, d.Sum(nil), sig, &rsa.PSSOptions{SaltLength: salt, Hash: h}); err != nil {
			return fmt.Errorf("%w: %v", ErrSignature, err)
		}
		return nil
	}
	switch kind {
	case kindUnknown:
		return fmt.Errorf("%w: signature algorithm %v", ErrUnsupported, sigAlg.Algorithm)
	case kindEd25519:
		if pub.Ed25519 == nil {
			return fmt.Errorf("%w: Ed25519 signature with another key", ErrSignature)
		}
		if !ed25519.Verify(pub.Ed25519, message, sig) {
			return ErrSignature
		}
		return nil
	case kindEd448:
		if pub.Ed448 == nil {
			return fmt.Errorf("%w: Ed448 signature with another key", ErrSignature)
		}
		if !ed448.Verify(pub.Ed448, message, sig, "") {
			return ErrSignature
		}
		return nil
	}
	if hash == 0 {
		hash = HashByOID(digestAlg)
		if hash == 0 || !hash.Available() {
			return fmt.Errorf("%w: digest algorithm %v", ErrUnsupported, digestAlg)
		}
	}
	d := hash.New()
	d.Write(message)
	return VerifyDigest(pub, kind == kindRSA, hash, d.Sum(nil), sig)
}

// VerifyDigest checks an RSA PKCS#1 v1.5 (rsa true) or ECDSA signature
// over a precomputed digest. ECDSA signatures may be DER or plain r‖s.
func VerifyDigest(pub *PublicKey, rsaPKCS1 bool, hash crypto.Hash, digest, sig []byte) error {
	switch {
	case rsaPKCS1:
		if pub.RSA == nil {
			return fmt.Errorf("%w: RSA signature with non-RSA key", ErrSignature)
		}
		if err := rsa.VerifyPKCS1v15(pub.RSA, hash, digest, sig); err != nil {
			return fmt.Errorf("%w: %v", ErrSignature, err)
		}
		return nil
	default:
		if pub.EC == nil {
			return fmt.Errorf("%w: ECDSA signature with non-EC key", ErrSignature)
		}
		r, s, err := ecc.ParseSignature(pub.EC.Curve, sig)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrSignature, err)
		}
		if !ecc.Verify(pub.EC, digest, r, s) {
			return ErrSignature
		}
		return nil
	}
}

// SignatureDigest returns the hash a signature with sigAlg uses: the hash
// the algorithm fixes, the PSS parameters' hash, or else digestAlg's hash
// (CMS SignerInfos naming rsaEncryption or ecPublicKey). It returns 0 when
// no hash can be determined.
func SignatureDigest(sigAlg AlgorithmIdentifier, digestAlg asn1.ObjectIdentifier) crypto.Hash {
	kind, h := sigAlgorithm(sigAlg.Algorithm)
	if kind == kindPSS {
		ph, _, err := PSSParameters(sigAlg.Parameters.FullBytes)
		if err != nil {
			return 0
		}
		return ph
	}
	if h == 0 && digestAlg != nil {
		h = HashByOID(digestAlg)
	}
	return h
}
