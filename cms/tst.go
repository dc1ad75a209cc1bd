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

// ParseTSTInfo parses DER TSTInfo. Only the fields validation needs are
// decoded; the optional tail (accuracy, ordering, nonce, tsa, extensions) is
// skipped.
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
	h, err := HashFor(a.MessageImprint.HashAlgorithm.Algorithm)
	if err != nil {
		return TSTInfo{}, err
	}
	return TSTInfo{Policy: a.Policy, Hash: h, HashedMessage: a.MessageImprint.HashedMessage, SerialNumber: a.SerialNumber, GenTime: a.GenTime.UTC()}, nil
}
