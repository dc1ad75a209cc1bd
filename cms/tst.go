package cms

import (
	"bytes"
	"crypto"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"
)

// TSTInfo is the content of an RFC 3161 time-stamp token.
type TSTInfo struct {
	Policy        asn1.ObjectIdentifier
	Hash          crypto.Hash
	HashedMessage []byte
	SerialNumber  *big.Int
	GenTime       time.Time
	// Extensions are the TSTInfo extensions; none is critical, since no
	// critical extension is understood (ParseTSTInfo refuses them).
	Extensions []pkix.Extension
}

type tstInfoASN struct {
	Version        int
	Policy         asn1.ObjectIdentifier
	MessageImprint struct {
		HashAlgorithm pkix.AlgorithmIdentifier
		HashedMessage []byte
	}
	SerialNumber *big.Int
	GenTime      time.Time `asn1:"generalized"`
}

// TimeStamp is a parsed time-stamp token.
type TimeStamp struct {
	Token *SignedData
	Info  TSTInfo
}

// ParseTimeStamp parses a time-stamp token (a SignedData with TSTInfo
// content). It does not verify it.
func ParseTimeStamp(der []byte) (*TimeStamp, error) {
	sd, err := Parse(der)
	if err != nil {
		return nil, err
	}
	if !sd.EContentType.Equal(OIDTSTInfo) || sd.EContent == nil {
		return nil, fmt.Errorf("%w: time-stamp token content is not TSTInfo", ErrFormat)
	}
	info, err := ParseTSTInfo(sd.EContent)
	if err != nil {
		return nil, err
	}
	return &TimeStamp{Token: sd, Info: info}, nil
}

// ParseTSTInfo parses DER TSTInfo. The fields validation needs are decoded;
// of the optional tail (accuracy, ordering, nonce, tsa, extensions) only
// the extensions are: a critical extension is not understood and makes the
// token unacceptable (RFC 3161 §2.4.2, RFC 5280 §4.2), an ErrFormat.
func ParseTSTInfo(der []byte) (TSTInfo, error) {
	var outer asn1.RawValue
	if rest, err := asn1.Unmarshal(der, &outer); err != nil || len(rest) != 0 || outer.Tag != asn1.TagSequence {
		return TSTInfo{}, fmt.Errorf("%w: TSTInfo", ErrFormat)
	}
	els, err := elements(outer.Bytes)
	if err != nil || len(els) < 5 {
		return TSTInfo{}, fmt.Errorf("%w: TSTInfo fields", ErrFormat)
	}
	var head bytes.Buffer
	for _, e := range els[:5] {
		head.Write(e.FullBytes)
	}
	seq, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: head.Bytes()})
	if err != nil {
		return TSTInfo{}, fmt.Errorf("%w: TSTInfo: %v", ErrFormat, err)
	}
	var a tstInfoASN
	if _, err := asn1.Unmarshal(seq, &a); err != nil {
		return TSTInfo{}, fmt.Errorf("%w: TSTInfo: %v", ErrFormat, err)
	}
	if a.Version != 1 {
		return TSTInfo{}, fmt.Errorf("%w: TSTInfo version %d", ErrFormat, a.Version)
	}
	exts, err := tstExtensions(els[5:])
	if err != nil {
		return TSTInfo{}, err
	}
	h, err := HashFor(a.MessageImprint.HashAlgorithm.Algorithm)
	if err != nil {
		return TSTInfo{}, err
	}
	return TSTInfo{Policy: a.Policy, Hash: h, HashedMessage: a.MessageImprint.HashedMessage, SerialNumber: a.SerialNumber, GenTime: a.GenTime.UTC(), Extensions: exts}, nil
}

// tstExtensions decodes the extensions [1] IMPLICIT Extensions of the
// TSTInfo tail and refuses any critical one.
func tstExtensions(tail []asn1.RawValue) ([]pkix.Extension, error) {
	var out []pkix.Extension
	for i, e := range tail {
		if e.Class != asn1.ClassContextSpecific || e.Tag != 1 {
			continue
		}
		if !e.IsCompound || i != len(tail)-1 {
			return nil, fmt.Errorf("%w: TSTInfo extensions", ErrFormat)
		}
		els, err := elements(e.Bytes)
		if err != nil || len(els) == 0 {
			return nil, fmt.Errorf("%w: TSTInfo extensions", ErrFormat)
		}
		for _, el := range els {
			var ext pkix.Extension
			if rest, err := asn1.Unmarshal(el.FullBytes, &ext); err != nil || len(rest) > 0 {
				return nil, fmt.Errorf("%w: TSTInfo extension", ErrFormat)
			}
			if ext.Critical {
				return nil, fmt.Errorf("%w: TSTInfo carries the unknown critical extension %v", ErrFormat, ext.Id)
			}
			out = append(out, ext)
		}
	}
	return out, nil
}
