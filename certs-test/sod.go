package certstest

import (
	"bytes"
	"crypto"
	"encoding/asn1"
	"io"
	"math/big"
	"sort"
	"time"

	"kyso/identity/lds"
	"kyso/identity/pki"
)

func tlv(tag byte, content []byte) []byte {
	out := []byte{tag}
	n := len(content)
	switch {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	case n < 0x10000:
		out = append(out, 0x82, byte(n>>8), byte(n))
	default:
		out = append(out, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(out, content...)
}

func mustMarshal(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic("certstest: marshal: " + err.Error()) // only fixed, internal structures
	}
	return b
}

// sodSpec describes the SOD to build.
type sodSpec struct {
	hash        crypto.Hash
	pss         bool
	dgs         map[int][]byte // data groups whose hashes are listed
	dsc         []byte         // DER
	dscSerial   int64
	dscIssuer   []byte // DER Name
	signer      *key
	contentType asn1.ObjectIdentifier
	signingTime time.Time
}

// buildSOD builds EF.SOD: 0x77 { ContentInfo { signedData, [0] SignedData } }.
func buildSOD(r io.Reader, s sodSpec) ([]byte, error) {
	hashAlg := pki.AlgorithmIdentifier{Algorithm: pki.OIDByHash(s.hash), Parameters: asn1.NullRawValue}
	nums := make([]int, 0, len(s.dgs))
	for n := range s.dgs {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	type dgHash struct {
		Number int
		Hash   []byte
	}
	var hashes []dgHash
	for _, n := range nums {
		d := s.hash.New()
		d.Write(s.dgs[n])
		hashes = append(hashes, dgHash{n, d.Sum(nil)})
	}
	econtent := mustMarshal(struct {
		Version int
		HashAlg pki.AlgorithmIdentifier
		Hashes  []dgHash
		Info    struct {
			LDS     string `asn1:"printable"`
			Unicode string `asn1:"printable"`
		}
	}{1, hashAlg, hashes, struct {
		LDS     string `asn1:"printable"`
		Unicode string `asn1:"printable"`
	}{"0108", "040000"}})
	md := s.hash.New()
	md.Write(econtent)
	attr := func(oid asn1.ObjectIdentifier, value []byte) []byte {
		return tlv(0x30, append(mustMarshal(oid), tlv(0x31, value)...))
	}
	attrs := [][]byte{
		attr(lds.OIDAttrContentType, mustMarshal(lds.OIDLDSSecurityObject)),
		attr(lds.OIDAttrMessageDigest, mustMarshal(md.Sum(nil))),
		attr(lds.OIDAttrSigningTime, mustMarshal(s.signingTime.UTC().Truncate(time.Second))),
	}
	sort.Slice(attrs, func(i, j int) bool { return bytes.Compare(attrs[i], attrs[j]) < 0 })
	signedAttrs := tlv(0x31, bytes.Join(attrs, nil))
	sigAlg, err := sigAlgFor(s.signer, s.hash, s.pss)
	if err != nil {
		return nil, err
	}
	sig, err := s.signer.sign(r, s.hash, s.pss, signedAttrs)
	if err != nil {
		return nil, err
	}
	implicitAttrs := append([]byte{0xA0}, signedAttrs[1:]...)
	sid := tlv(0x30, append(append([]byte(nil), s.dscIssuer...), mustMarshal(big.NewInt(s.dscSerial))...))
	signerInfo := tlv(0x30, bytes.Join([][]byte{
		mustMarshal(1), sid, mustMarshal(hashAlg), implicitAttrs, mustMarshal(sigAlg), mustMarshal(sig),
	}, nil))
	ct := s.contentType
	if ct == nil {
		ct = lds.OIDLDSSecurityObject
	}
	encap := tlv(0x30, append(mustMarshal(ct), tlv(0xA0, mustMarshal(econtent))...))
	signedData := tlv(0x30, bytes.Join([][]byte{
		mustMarshal(3),
		tlv(0x31, mustMarshal(hashAlg)),
		encap,
		tlv(0xA0, s.dsc),
		tlv(0x31, signerInfo),
	}, nil))
	contentInfo := tlv(0x30, append(mustMarshal(lds.OIDSignedData), tlv(0xA0, signedData)...))
	return tlv(0x77, contentInfo), nil
}
