package lds

import "kyso/identity/pki"

// ParseDG15 parses EF.DG15 (tag 0x6F containing the Active Authentication
// SubjectPublicKeyInfo: RSA or EC, named or explicit curve parameters).
func ParseDG15(b []byte) (*pki.PublicKey, error) {
	inner, err := unwrapApplication(b, 0x6F, "DG15")
	if err != nil {
		return nil, err
	}
	k, err := pki.ParsePublicKey(inner)
	if err != nil {
		return nil, malformed("DG15", err)
	}
	return k, nil
}
