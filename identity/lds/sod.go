package lds

import (
	"bytes"
	"crypto"
	"encoding/asn1"
	"errors"
	"fmt"

	"kyso/cms"
	"kyso/identity/pki"
)

// SOD is a parsed EF.SOD.
type SOD struct {
	SignedData *cms.SignedData
	Signer     *cms.SignerInfo
	// DSC is the Document Signer certificate carried in the SOD.
	DSC *pki.Certificate
	LDS *LDSSecurityObject

	signed *signedObject
}

// LDSSecurityObject lists the data-group hashes (Doc 9303-10 4.6.2).
type LDSSecurityObject struct {
	Version       int // 0 or 1
	HashAlgorithm pki.AlgorithmIdentifier
	Hash          crypto.Hash
	// DataGroupHashes maps data-group number to hash value.
	DataGroupHashes map[int][]byte
	LDSVersion      string // v1 only
	UnicodeVersion  string // v1 only
}

type ldsSecurityObject struct {
	Version             int
	HashAlgorithm       pki.AlgorithmIdentifier
	DataGroupHashValues []struct {
		Number int
		Hash   []byte
	}
	VersionInfo struct {
		LDSVersion     string `asn1:"printable"`
		UnicodeVersion string `asn1:"printable"`
	} `asn1:"optional"`
}

// ParseSOD parses EF.SOD (outer tag 0x77) or a bare ContentInfo. It checks
// structure only; see VerifySignature and pa for trust.
func ParseSOD(b []byte) (*SOD, error) {
	if len(b) > 0 && b[0] == 0x77 {
		inner, err := unwrapApplication(b, 0x77, "EF.SOD")
		if err != nil {
			return nil, err
		}
		b = inner
	}
	o, err := parseSigned(b, "EF.SOD")
	if err != nil {
		return nil, err
	}
	lso, err := ParseLDSSecurityObject(o.sd.EContent)
	if err != nil {
		return nil, err
	}
	return &SOD{SignedData: o.sd, Signer: o.signer, DSC: o.cert, LDS: lso, signed: o}, nil
}

// ParseLDSSecurityObject parses LDSSecurityObject v0 or v1.
func ParseLDSSecurityObject(b []byte) (*LDSSecurityObject, error) {
	der, err := cms.ToDER(b)
	if err != nil {
		return nil, malformed("LDSSecurityObject", err)
	}
	var l ldsSecurityObject
	rest, err := asn1.Unmarshal(der, &l)
	if err != nil {
		return nil, malformed("LDSSecurityObject", err)
	}
	if len(rest) != 0 {
		return nil, malformed("LDSSecurityObject: trailing data", nil)
	}
	if l.Version != 0 && l.Version != 1 {
		return nil, malformed(fmt.Sprintf("LDSSecurityObject version %d", l.Version), nil)
	}
	out := &LDSSecurityObject{
		Version: l.Version, HashAlgorithm: l.HashAlgorithm,
		Hash:            pki.HashByOID(l.HashAlgorithm.Algorithm),
		DataGroupHashes: make(map[int][]byte, len(l.DataGroupHashValues)),
		LDSVersion:      l.VersionInfo.LDSVersion, UnicodeVersion: l.VersionInfo.UnicodeVersion,
	}
	if out.Hash == 0 {
		return nil, fmt.Errorf("%w: LDS hash algorithm %v", pki.ErrUnsupported, l.HashAlgorithm.Algorithm)
	}
	if len(l.DataGroupHashValues) == 0 {
		return nil, malformed("LDSSecurityObject lists no data groups", nil)
	}
	for _, h := range l.DataGroupHashValues {
		if h.Number < 1 || h.Number > 16 {
			return nil, malformed(fmt.Sprintf("data group number %d", h.Number), nil)
		}
		if _, dup := out.DataGroupHashes[h.Number]; dup {
			return nil, malformed(fmt.Sprintf("data group %d listed twice", h.Number), nil)
		}
		if len(h.Hash) != out.Hash.Size() {
			return nil, malformed(fmt.Sprintf("data group %d hash has %d bytes, want %d", h.Number, len(h.Hash), out.Hash.Size()), nil)
		}
		out.DataGroupHashes[h.Number] = h.Hash
	}
	return out, nil
}

// Errors from CheckDataGroup.
var (
	ErrDataGroupNotInSOD = errors.New("lds: data group not listed in the SOD")
	ErrDataGroupHash     = errors.New("lds: data group hash does not match the SOD")
)

// CheckDataGroup hashes raw (the data group exactly as read from the chip)
// and compares it with the SOD entry for data group n.
func (l *LDSSecurityObject) CheckDataGroup(n int, raw []byte) error {
	want, ok := l.DataGroupHashes[n]
	if !ok {
		return fmt.Errorf("%w: DG%d", ErrDataGroupNotInSOD, n)
	}
	h := l.Hash.New()
	h.Write(raw)
	if !bytes.Equal(h.Sum(nil), want) {
		return fmt.Errorf("%w: DG%d", ErrDataGroupHash, n)
	}
	return nil
}

// VerifySignature checks the SOD's SignerInfo with its embedded DSC
// (signature, contentType, messageDigest). Whether the DSC is trusted is
// a separate question.
func (s *SOD) VerifySignature() error {
	return s.signed.verify()
}
