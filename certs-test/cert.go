package certstest

import (
	"crypto"
	"crypto/sha1"
	"crypto/x509/pkix"
	"encoding/asn1"
	"io"
	"math/big"
	"time"

	"kyso/identity/pki"
)

// profile fixes the key types and algorithms of one --alg choice.
type profile struct {
	cscaKey, dscKey, aaKey string // "rsa" or a curve name
	hash                   crypto.Hash
	pss                    bool
	explicit               bool // EC keys with explicit parameters
}

var profiles = map[string]profile{
	"rsa":       {"rsa", "rsa", "rsa", crypto.SHA256, false, false},
	"rsa-pss":   {"rsa", "rsa", "rsa", crypto.SHA256, true, false},
	"p256":      {"P-256", "P-256", "P-256", crypto.SHA256, false, false},
	"p384":      {"P-384", "P-384", "P-384", crypto.SHA384, false, false},
	"brainpool": {"brainpoolP384r1", "brainpoolP256r1", "brainpoolP256r1", crypto.SHA256, false, true},
}

// Algorithms lists the accepted --alg values.
func Algorithms() []string { return []string{"rsa", "rsa-pss", "p256", "p384", "brainpool"} }

var oidCMSAlgs = struct {
	rsa map[crypto.Hash]asn1.ObjectIdentifier
	ec  map[crypto.Hash]asn1.ObjectIdentifier
}{
	rsa: map[crypto.Hash]asn1.ObjectIdentifier{crypto.SHA1: pki.OIDSHA1WithRSA, crypto.SHA256: pki.OIDSHA256WithRSA, crypto.SHA384: pki.OIDSHA384WithRSA},
	ec:  map[crypto.Hash]asn1.ObjectIdentifier{crypto.SHA1: pki.OIDECDSAWithSHA1, crypto.SHA256: pki.OIDECDSAWithSHA256, crypto.SHA384: pki.OIDECDSAWithSHA384, crypto.SHA512: pki.OIDECDSAWithSHA512},
}

// sigAlgFor returns the AlgorithmIdentifier a key of this kind signs with.
func sigAlgFor(k *key, h crypto.Hash, pss bool) (pki.AlgorithmIdentifier, error) {
	switch {
	case k.rsa != nil && pss:
		ha := pki.AlgorithmIdentifier{Algorithm: pki.OIDByHash(h), Parameters: asn1.NullRawValue}
		mgfParams, err := asn1.Marshal(ha)
		if err != nil {
			return pki.AlgorithmIdentifier{}, err
		}
		params, err := asn1.Marshal(struct {
			Hash pki.AlgorithmIdentifier `asn1:"explicit,tag:0"`
			MGF  pki.AlgorithmIdentifier `asn1:"explicit,tag:1"`
			Salt int                     `asn1:"explicit,tag:2"`
		}{ha, pki.AlgorithmIdentifier{Algorithm: pki.OIDMGF1, Parameters: asn1.RawValue{FullBytes: mgfParams}}, h.Size()})
		if err != nil {
			return pki.AlgorithmIdentifier{}, err
		}
		return pki.AlgorithmIdentifier{Algorithm: pki.OIDRSAPSS, Parameters: asn1.RawValue{FullBytes: params}}, nil
	case k.rsa != nil:
		return pki.AlgorithmIdentifier{Algorithm: oidCMSAlgs.rsa[h], Parameters: asn1.NullRawValue}, nil
	default:
		return pki.AlgorithmIdentifier{Algorithm: oidCMSAlgs.ec[h]}, nil
	}
}

type certSpec struct {
	serial              int64
	issuer, subject     pkix.Name
	notBefore, notAfter time.Time
	pub                 *pki.PublicKey
	explicit            bool
	isCA                bool
	aki                 []byte
	// keyUsage replaces the default keyUsage (digitalSignature, or
	// keyCertSign and cRLSign for a CA); noKeyUsage omits the extension;
	// noBasicConstraints omits basicConstraints from a CA certificate.
	keyUsage           *asn1.BitString
	noKeyUsage         bool
	noBasicConstraints bool
}

func keyID(spki []byte) []byte {
	s := sha1.Sum(spki)
	return s[:]
}

// makeCert builds and signs a certificate with our own encoder (crypto/x509
// cannot create brainpool or explicit-parameter certificates).
func makeCert(r io.Reader, spec certSpec, signer *key, h crypto.Hash, pss bool) ([]byte, []byte, error) {
	spki, err := marshalSPKI(spec.pub, spec.explicit)
	if err != nil {
		return nil, nil, err
	}
	ski := keyID(spki)
	issuer, err := asn1.Marshal(spec.issuer.ToRDNSequence())
	if err != nil {
		return nil, nil, err
	}
	subject, err := asn1.Marshal(spec.subject.ToRDNSequence())
	if err != nil {
		return nil, nil, err
	}
	sigAlg, err := sigAlgFor(signer, h, pss)
	if err != nil {
		return nil, nil, err
	}
	var exts []pkix.Extension
	skiVal, _ := asn1.Marshal(ski)
	exts = append(exts, pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 14}, Value: skiVal})
	if spec.aki != nil {
		akiVal, _ := asn1.Marshal(struct {
			ID []byte `asn1:"tag:0"`
		}{spec.aki})
		exts = append(exts, pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 35}, Value: akiVal})
	}
	ku := asn1.BitString{Bytes: []byte{0x80}, BitLength: 1} // digitalSignature
	if spec.isCA {
		ku = asn1.BitString{Bytes: []byte{0x06}, BitLength: 7} // keyCertSign, cRLSign
		if !spec.noBasicConstraints {
			bc, _ := asn1.Marshal(struct {
				IsCA bool
				Max  int
			}{true, 0})
			exts = append(exts, pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 19}, Critical: true, Value: bc})
		}
	}
	if spec.keyUsage != nil {
		ku = *spec.keyUsage
	}
	if !spec.noKeyUsage {
		kuVal, _ := asn1.Marshal(ku)
		exts = append(exts, pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 15}, Critical: true, Value: kuVal})
	}
	tbs, err := asn1.Marshal(struct {
		Version  int `asn1:"explicit,tag:0"`
		Serial   *big.Int
		SigAlg   pki.AlgorithmIdentifier
		Issuer   asn1.RawValue
		Validity struct {
			NotBefore, NotAfter time.Time
		}
		Subject    asn1.RawValue
		SPKI       asn1.RawValue
		Extensions []pkix.Extension `asn1:"explicit,tag:3"`
	}{
		Version: 2, Serial: big.NewInt(spec.serial), SigAlg: sigAlg,
		Issuer:   asn1.RawValue{FullBytes: issuer},
		Validity: struct{ NotBefore, NotAfter time.Time }{spec.notBefore.UTC().Truncate(time.Second), spec.notAfter.UTC().Truncate(time.Second)},
		Subject:  asn1.RawValue{FullBytes: subject}, SPKI: asn1.RawValue{FullBytes: spki}, Extensions: exts,
	})
	if err != nil {
		return nil, nil, err
	}
	sig, err := signer.sign(r, h, pss, tbs)
	if err != nil {
		return nil, nil, err
	}
	der, err := asn1.Marshal(struct {
		TBS    asn1.RawValue
		SigAlg pki.AlgorithmIdentifier
		Sig    asn1.BitString
	}{asn1.RawValue{FullBytes: tbs}, sigAlg, asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}})
	return der, ski, err
}
