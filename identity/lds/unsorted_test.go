package lds_test

import (
	"bytes"
	"encoding/asn1"
	"testing"
	"time"

	certstest "kyso/certs-test"
	"kyso/identity/lds"
)

// Some document signers carry the signed attributes unsorted in the
// SignerInfo but sign their DER (sorted) SET OF: that SOD verifies, and a
// real change to an attribute still does not.
func TestSODUnsortedSignedAttributes(t *testing.T) {
	c, err := certstest.NewChip(certstest.ChipOptions{ID: "079090001234", Name: "Trần Đức Anh", Sex: "M", Alg: "p256", Now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	sod, err := lds.ParseSOD(c.SOD)
	if err != nil {
		t.Fatal(err)
	}
	set := sod.Signer.SignedAttrsDER
	var rv asn1.RawValue
	if _, err := asn1.Unmarshal(set, &rv); err != nil {
		t.Fatal(err)
	}
	var elems [][]byte
	for cur := rv.Bytes; len(cur) > 0; {
		var e asn1.RawValue
		r, err := asn1.Unmarshal(cur, &e)
		if err != nil {
			t.Fatal(err)
		}
		elems, cur = append(elems, e.FullBytes), r
	}
	if len(elems) < 2 {
		t.Fatalf("%d signed attributes", len(elems))
	}
	// Reverse the attributes in place (same length): [0] IMPLICIT content.
	reversed := bytes.Join(func() [][]byte {
		out := make([][]byte, len(elems))
		for i, e := range elems {
			out[len(elems)-1-i] = e
		}
		return out
	}(), nil)
	i := bytes.Index(c.SOD, rv.Bytes)
	if i < 0 {
		t.Fatal("signed attributes not found in EF.SOD")
	}
	unsorted := append([]byte(nil), c.SOD...)
	copy(unsorted[i:], reversed)
	s, err := lds.ParseSOD(unsorted)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(s.Signer.SignedAttrsDER, set) {
		t.Fatal("attributes not reordered")
	}
	if err := s.VerifySignature(); err != nil {
		t.Fatalf("unsorted attributes: %v", err)
	}
	// A changed byte inside the unsorted attributes is still refused.
	forged := append([]byte(nil), unsorted...)
	forged[i+len(reversed)-2] ^= 1
	if s, err := lds.ParseSOD(forged); err == nil && s.VerifySignature() == nil {
		t.Fatal("changed signed attribute accepted")
	}
}
