package cms

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"math/big"

	"kyso/identity/pki"
)

// placeholderSPKI is a P-256 SubjectPublicKeyInfo that stands in for a
// key crypto/x509 cannot parse while the rest of a certificate is read.
var placeholderSPKI, _ = hex.DecodeString("3059301306072a8648ce3d020106082a8648ce3d03010703420004558fd384ccac7c0b9dc261c589beabdc8708b2fa7269cad9d718843cabe0a15a8770dc7760bac3ab4a9d3b52979a2cc08adb17d95133a5e85073ee913405cb9d")

// ParseCertificate parses a DER certificate with crypto/x509 and, where
// that refuses a certificate real signers use, reads it anyway:
//   - a subject key crypto/x509 does not know (brainpool or explicit
//     curves): the certificate is read with a stand-in key and PublicKey is
//     left nil; PublicKey (this package) reads the real key for signature
//     checks, and RawSubjectPublicKeyInfo is the real one;
//   - a negative serial number (old CAs; RFC 5280 forbids it, EU DSS
//     accepts it): read with a stand-in serial, then SerialNumber is set
//     to the real value.
//
// Raw and RawTBSCertificate are always the certificate's own bytes, so
// the issuer's signature over it is checked on what was signed.
func ParseCertificate(der []byte) (*x509.Certificate, error) {
	c, err := x509.ParseCertificate(der)
	if err == nil {
		return c, nil
	}
	var outer struct {
		TBS asn1.RawValue
		Alg asn1.RawValue
		Sig asn1.RawValue
	}
	if rest, e := asn1.Unmarshal(der, &outer); e != nil || len(rest) != 0 {
		return nil, err
	}
	fields, e := elements(outer.TBS.Bytes)
	if e != nil || len(fields) < 6 {
		return nil, err
	}
	i := 0
	if fields[0].Class == asn1.ClassContextSpecific && fields[0].Tag == 0 {
		i = 1 // version
	}
	if len(fields) < i+6 || fields[i].Tag != asn1.TagInteger {
		return nil, err
	}
	serialField, spkiField := &fields[i], &fields[i+5]
	var serial *big.Int
	changed := false
	if b := serialField.Bytes; len(b) > 0 && b[0]&0x80 != 0 {
		serial = new(big.Int).SetBytes(b)
		serial.Sub(serial, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
		serialField.FullBytes = []byte{0x02, 0x01, 0x01}
		changed = true
	}
	realSPKI := spkiField.FullBytes
	standIn := false
	if _, e := x509.ParsePKIXPublicKey(realSPKI); e != nil {
		if _, e := pki.ParsePublicKey(realSPKI); e == nil {
			spkiField.FullBytes = placeholderSPKI
			changed, standIn = true, true
		}
	}
	if !changed {
		return nil, err
	}
	var tbs []byte
	for _, f := range fields {
		tbs = append(tbs, f.FullBytes...)
	}
	tbsDER, e := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: tbs})
	if e != nil {
		return nil, err
	}
	certDER, e := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: append(append(tbsDER, outer.Alg.FullBytes...), outer.Sig.FullBytes...)})
	if e != nil {
		return nil, err
	}
	c, e = x509.ParseCertificate(certDER)
	if e != nil {
		return nil, fmt.Errorf("%w (and read leniently: %v)", err, e)
	}
	c.Raw = der
	c.RawTBSCertificate = outer.TBS.FullBytes
	c.RawSubjectPublicKeyInfo = realSPKI
	if standIn {
		c.PublicKey = nil
	}
	if serial != nil {
		c.SerialNumber = serial
	}
	return c, nil
}
