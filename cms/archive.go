package cms

import (
	"bytes"
	"crypto"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"kyso/hashoid"
)

// Object identifiers of CAdES archive time-stamps (ETSI EN 319 122-1
// §5.5, ETSI TS 101 733) and of counter-signatures (RFC 5652 §11.4).
var (
	// OIDArchiveTimeStampV3 is id-aa-ets-archiveTimestampV3.
	OIDArchiveTimeStampV3 = asn1.ObjectIdentifier{0, 4, 0, 1733, 2, 4}
	// OIDATSHashIndexV3 is id-aa-ATSHashIndex-v3, the unsigned attribute
	// of an archive-time-stamp-v3 token holding its hash index.
	OIDATSHashIndexV3 = asn1.ObjectIdentifier{0, 4, 0, 19122, 1, 5}
	// OIDATSHashIndexV2 and OIDATSHashIndex are the earlier hash index
	// versions (EN 319 122-1 V1.0.0, TS 101 733).
	OIDATSHashIndexV2 = asn1.ObjectIdentifier{0, 4, 0, 19122, 1, 4}
	OIDATSHashIndex   = asn1.ObjectIdentifier{0, 4, 0, 1733, 2, 5}
	// OIDArchiveTimeStampV2 and OIDArchiveTimeStamp are the legacy
	// archive time-stamps of TS 101 733 (id-aa-ets-archiveTimestampV2,
	// id-aa-ets-archiveTimestamp).
	OIDArchiveTimeStampV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 48}
	OIDArchiveTimeStamp   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 27}
	// OIDCounterSignature is id-countersignature.
	OIDCounterSignature = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 6}
)

// ATSHashIndex is a parsed ATSHashIndexV3 (ETSI EN 319 122-1 §5.5.2): the
// hashes of every SignedData certificate and revocation element and of
// every unsigned attribute value of the signer, as present when the
// archive time-stamp was made.
type ATSHashIndex struct {
	Hash                    crypto.Hash
	Certs, CRLs, AttrValues [][]byte
	DER                     []byte // the ATSHashIndexV3 value as encoded
}

// AttrValueHash is the ats-hash-index-v3 hash of one unsigned attribute
// value: over the encoded attrType followed by the encoded value.
func AttrValueHash(h crypto.Hash, a Attribute, value []byte) []byte {
	hh := h.New()
	if a.RawType != nil {
		hh.Write(a.RawType)
	} else {
		t, _ := asn1.Marshal(a.Type)
		hh.Write(t)
	}
	hh.Write(value)
	return hh.Sum(nil)
}

func hashAll(h crypto.Hash, items [][]byte) [][]byte {
	out := make([][]byte, 0, len(items))
	for _, it := range items {
		hh := h.New()
		hh.Write(it)
		out = append(out, hh.Sum(nil))
	}
	return out
}

// ATSHashIndexV3 builds the ATSHashIndexV3 value (DER) of signer si of sd
// with hash h: every element of SignedData.certificates and .crls and
// every unsigned attribute value of si, in order. The hash algorithm is
// always written out, as EU DSS expects.
func (sd *SignedData) ATSHashIndexV3(si *SignerInfo, h crypto.Hash) ([]byte, error) {
	oid, ok := hashoid.OID(h)
	if !ok || !h.Available() {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedHash, h)
	}
	var attrs [][]byte
	for _, a := range si.UnsignedAttrs {
		for _, v := range a.Values {
			attrs = append(attrs, AttrValueHash(h, a, v))
		}
	}
	seq := func(b *cryptobyte.Builder, items [][]byte) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, it := range items {
				b.AddASN1OctetString(it)
			}
		})
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addAlgID(b, Algorithm{OID: oid})
		seq(b, hashAll(h, sd.RawCertificates))
		seq(b, hashAll(h, sd.RawCRLs))
		seq(b, attrs)
	})
	return b.Bytes()
}

// ParseATSHashIndexV3 parses an ATSHashIndexV3 value.
func ParseATSHashIndexV3(der []byte) (*ATSHashIndex, error) {
	var outer asn1.RawValue
	if rest, err := asn1.Unmarshal(der, &outer); err != nil || len(rest) != 0 || outer.Tag != asn1.TagSequence {
		return nil, fmt.Errorf("%w: ats-hash-index-v3", ErrFormat)
	}
	els, err := elements(outer.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: ats-hash-index-v3: %v", ErrFormat, err)
	}
	idx := &ATSHashIndex{Hash: crypto.SHA256, DER: der}
	if len(els) == 4 {
		var alg pkix.AlgorithmIdentifier
		if _, err := asn1.Unmarshal(els[0].FullBytes, &alg); err != nil {
			return nil, fmt.Errorf("%w: ats-hash-index-v3 algorithm", ErrFormat)
		}
		if idx.Hash, err = HashFor(alg.Algorithm); err != nil {
			return nil, err
		}
		els = els[1:]
	}
	if len(els) != 3 {
		return nil, fmt.Errorf("%w: ats-hash-index-v3 has %d fields", ErrFormat, len(els))
	}
	lists := []*[][]byte{&idx.Certs, &idx.CRLs, &idx.AttrValues}
	for i, e := range els {
		if e.Class != asn1.ClassUniversal || e.Tag != asn1.TagSequence {
			return nil, fmt.Errorf("%w: ats-hash-index-v3 field %d", ErrFormat, i+1)
		}
		items, err := elements(e.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: ats-hash-index-v3: %v", ErrFormat, err)
		}
		for _, it := range items {
			if it.Class != asn1.ClassUniversal || it.Tag != asn1.TagOctetString || len(it.Bytes) != idx.Hash.Size() {
				return nil, fmt.Errorf("%w: ats-hash-index-v3 entry", ErrFormat)
			}
			*lists[i] = append(*lists[i], it.Bytes)
		}
	}
	return idx, nil
}

// Missing returns a description of the first index entry that matches no
// element now in sd (certificates, crls) or in si's unsigned attributes,
// or "" when every indexed element is still there: an element changed or
// removed after the archive time-stamp was made. Elements added later are
// not in the index and do not matter.
func (idx *ATSHashIndex) Missing(sd *SignedData, si *SignerInfo) string {
	h := idx.Hash
	if !h.Available() {
		return "hash index algorithm unavailable"
	}
	have := func(items [][]byte) map[string]int {
		m := map[string]int{}
		for _, d := range hashAll(h, items) {
			m[string(d)]++
		}
		return m
	}
	var attrs [][]byte
	for _, a := range si.UnsignedAttrs {
		for _, v := range a.Values {
			attrs = append(attrs, AttrValueHash(h, a, v))
		}
	}
	attrSet := map[string]int{}
	for _, d := range attrs {
		attrSet[string(d)]++
	}
	for _, c := range []struct {
		what  string
		index [][]byte
		have  map[string]int
	}{
		{"certificate", idx.Certs, have(sd.RawCertificates)},
		{"revocation value", idx.CRLs, have(sd.RawCRLs)},
		{"unsigned attribute", idx.AttrValues, attrSet},
	} {
		for i, d := range c.index {
			if c.have[string(d)] == 0 {
				return fmt.Sprintf("%s %d of the archive time-stamp's hash index is no longer in the signature", c.what, i+1)
			}
			c.have[string(d)]--
		}
	}
	return ""
}

// Covers reports whether the index holds the unsigned attribute value
// (attribute a, one of its values).
func (idx *ATSHashIndex) Covers(a Attribute, value []byte) bool {
	if !idx.Hash.Available() {
		return false
	}
	d := AttrValueHash(idx.Hash, a, value)
	for _, e := range idx.AttrValues {
		if bytes.Equal(e, d) {
			return true
		}
	}
	return false
}

// ArchiveTimeStampV3Input returns what the message imprint of an
// archive-time-stamp-v3 of signer si is computed over (ETSI EN 319 122-1
// §5.5.3): the encoded eContentType, the hash of the signed content
// (contentHash, with the time-stamp's imprint algorithm), si's fields
// version to signature as encoded, and the ATSHashIndexV3 value.
func (sd *SignedData) ArchiveTimeStampV3Input(si *SignerInfo, contentHash, hashIndex []byte) ([]byte, error) {
	ct, err := asn1.Marshal(sd.EContentType)
	if err != nil {
		return nil, fmt.Errorf("%w: eContentType: %v", ErrFormat, err)
	}
	if len(si.SignedFields) == 0 {
		return nil, fmt.Errorf("%w: signer fields not available", ErrFormat)
	}
	out := make([]byte, 0, len(ct)+len(contentHash)+len(si.SignedFields)+len(hashIndex))
	out = append(out, ct...)
	out = append(out, contentHash...)
	out = append(out, si.SignedFields...)
	return append(out, hashIndex...), nil
}

// AddUnsignedAttribute returns the ContentInfo der with the encoded
// attribute attr appended to the unsigned attributes of its signer-th
// SignerInfo. Every other byte is kept as it was, so signatures and
// earlier archive time-stamps' hash indexes stay valid. BER input is
// re-encoded as DER first.
func AddUnsignedAttribute(der []byte, signer int, attr []byte) ([]byte, error) {
	if len(der) > 1 && der[1] == 0x80 {
		d, err := berToDER(der)
		if err != nil {
			return nil, err
		}
		der = d
	}
	in := cryptobyte.String(der)
	var ci, explicit, sd cryptobyte.String
	var ct asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.ReadASN1ObjectIdentifier(&ct) || !ct.Equal(OIDSignedData) ||
		!ci.ReadASN1(&explicit, cbasn1.Tag(0).Constructed().ContextSpecific()) || !explicit.ReadASN1(&sd, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("%w: not a SignedData ContentInfo", ErrFormat)
	}
	// Everything up to the SET of SignerInfo is kept as it is.
	var head []byte
	var signerInfos cryptobyte.String
	for {
		var el cryptobyte.String
		var tag cbasn1.Tag
		if !sd.ReadAnyASN1Element(&el, &tag) {
			return nil, fmt.Errorf("%w: SignedData", ErrFormat)
		}
		if sd.Empty() {
			if tag != cbasn1.SET || !el.ReadASN1(&signerInfos, cbasn1.SET) {
				return nil, fmt.Errorf("%w: signerInfos", ErrFormat)
			}
			break
		}
		head = append(head, el...)
	}
	var sis [][]byte
	for !signerInfos.Empty() {
		var el cryptobyte.String
		if !signerInfos.ReadASN1Element(&el, cbasn1.SEQUENCE) {
			return nil, fmt.Errorf("%w: signerInfo", ErrFormat)
		}
		sis = append(sis, el)
	}
	if signer < 0 || signer >= len(sis) {
		return nil, fmt.Errorf("%w: no signer %d", ErrFormat, signer)
	}
	si := cryptobyte.String(sis[signer])
	var body cryptobyte.String
	if !si.ReadASN1(&body, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("%w: signerInfo", ErrFormat)
	}
	unsignedTag := cbasn1.Tag(1).Constructed().ContextSpecific()
	var fields []byte
	var unsigned []byte
	for !body.Empty() {
		var el cryptobyte.String
		var tag cbasn1.Tag
		if !body.ReadAnyASN1Element(&el, &tag) {
			return nil, fmt.Errorf("%w: signerInfo field", ErrFormat)
		}
		if tag == unsignedTag {
			var content cryptobyte.String
			if !el.ReadASN1(&content, unsignedTag) || !body.Empty() {
				return nil, fmt.Errorf("%w: unsignedAttrs", ErrFormat)
			}
			unsigned = content
			break
		}
		fields = append(fields, el...)
	}
	var sb cryptobyte.Builder
	sb.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(fields)
		b.AddASN1(unsignedTag, func(b *cryptobyte.Builder) {
			b.AddBytes(unsigned)
			b.AddBytes(attr)
		})
	})
	newSI, err := sb.Bytes()
	if err != nil {
		return nil, err
	}
	sis[signer] = newSI
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(OIDSignedData)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddBytes(head)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					for _, s := range sis {
						b.AddBytes(s)
					}
				})
			})
		})
	})
	return b.Bytes()
}
