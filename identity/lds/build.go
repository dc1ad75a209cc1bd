package lds

import (
	"encoding/asn1"
	"fmt"
	"sort"
	"strings"

	"kyso/cms"
)

// Encoders for data groups, used to build synthetic test cards.

func wrap(tag byte, content []byte) []byte {
	return append(cms.AppendLength([]byte{tag}, len(content)), content...)
}

// EncodeDG1 wraps an MRZ string as EF.DG1.
func EncodeDG1(mrz string) []byte {
	inner := append(cms.AppendLength([]byte{0x5F, 0x1F}, len(mrz)), mrz...)
	return wrap(0x61, inner)
}

// EncodeDG15 wraps a DER SubjectPublicKeyInfo as EF.DG15.
func EncodeDG15(spki []byte) []byte { return wrap(0x6F, spki) }

// OIDVNDG13 is the object identifier written into synthetic DG13 files.
// Real cards carry an issuer-specific OID, which the parser ignores.
var OIDVNDG13 = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 6, 2}

// EncodeDG13 encodes the CCCD DG13 layout with PrintableString for ASCII
// values and UTF8String otherwise, in field-number order.
func EncodeDG13(fields map[int]string) ([]byte, error) {
	nums := make([]int, 0, len(fields))
	for n := range fields {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	var set []byte
	for _, n := range nums {
		num, err := asn1.Marshal(n)
		if err != nil {
			return nil, err
		}
		v := fields[n]
		tag := byte(asn1.TagUTF8String)
		if isPrintable(v) {
			tag = asn1.TagPrintableString
		}
		val := wrap(tag, []byte(v))
		set = append(set, wrap(0x30, append(num, val...))...)
	}
	ver, _ := asn1.Marshal(1)
	oid, err := asn1.Marshal(OIDVNDG13)
	if err != nil {
		return nil, err
	}
	seq := append(append(ver, oid...), wrap(0x31, set)...)
	return wrap(0x6D, wrap(0x30, seq)), nil
}

func isPrintable(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(" '()+,-./:=?", c)) {
			return false
		}
	}
	return true
}

// EncodeDG14AA encodes a DG14 holding only an ActiveAuthenticationInfo
// naming sigAlg.
func EncodeDG14AA(sigAlg asn1.ObjectIdentifier) ([]byte, error) {
	info, err := asn1.Marshal(struct {
		Protocol asn1.ObjectIdentifier
		Version  int
		SigAlg   asn1.ObjectIdentifier
	}{OIDActiveAuthentication, 1, sigAlg})
	if err != nil {
		return nil, err
	}
	return wrap(0x6E, wrap(0x31, info)), nil
}

// TD1Fields are the inputs of a TD1 MRZ.
type TD1Fields struct {
	DocumentCode   string // "ID"
	IssuingState   string // "VNM"
	DocumentNumber string // up to 9 characters
	Optional1      string // up to 15 characters
	DateOfBirth    string // YYMMDD
	Sex            string // "M", "F" or "<"
	DateOfExpiry   string // YYMMDD
	Nationality    string
	Optional2      string // up to 11 characters
	Primary        string
	Secondary      string
}

func pad(s string, n int) string {
	s = strings.ReplaceAll(strings.ToUpper(s), " ", "<")
	if len(s) > n {
		return s[:n]
	}
	return s + strings.Repeat("<", n-len(s))
}

func mrzText(s string) string {
	return strings.ReplaceAll(strings.ToUpper(strings.TrimSpace(s)), " ", "<")
}

// BuildTD1 lays out a TD1 MRZ (3 × 30) with all check digits.
func BuildTD1(f TD1Fields) (string, error) {
	l1 := pad(f.DocumentCode, 2) + pad(f.IssuingState, 3) + pad(f.DocumentNumber, 9)
	cd, err := CheckDigit(pad(f.DocumentNumber, 9))
	if err != nil {
		return "", err
	}
	l1 += string(cd) + pad(f.Optional1, 15)
	dob, err := CheckDigit(f.DateOfBirth)
	if err != nil {
		return "", err
	}
	exp, err := CheckDigit(f.DateOfExpiry)
	if err != nil {
		return "", err
	}
	l2 := pad(f.DateOfBirth, 6) + string(dob) + pad(f.Sex, 1) + pad(f.DateOfExpiry, 6) + string(exp) + pad(f.Nationality, 3) + pad(f.Optional2, 11)
	comp, err := CheckDigit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29])
	if err != nil {
		return "", err
	}
	l2 += string(comp)
	l3 := pad(mrzText(f.Primary)+"<<"+mrzText(f.Secondary), 30)
	s := l1 + l2 + l3
	if len(s) != 90 || !validMRZChars(s) {
		return "", fmt.Errorf("lds: TD1 fields produce an invalid MRZ %q", s)
	}
	return s, nil
}

// TD3Fields are the inputs of a passport (TD3) MRZ.
type TD3Fields struct {
	DocumentCode   string // "P"
	IssuingState   string
	Primary        string
	Secondary      string
	DocumentNumber string // up to 9 characters
	Nationality    string
	DateOfBirth    string // YYMMDD
	Sex            string
	DateOfExpiry   string // YYMMDD
	PersonalNumber string // up to 14 characters
}

// BuildTD3 lays out a TD3 MRZ (2 × 44) with all check digits.
func BuildTD3(f TD3Fields) (string, error) {
	l1 := pad(pad(f.DocumentCode, 2)+pad(f.IssuingState, 3)+mrzText(f.Primary)+"<<"+mrzText(f.Secondary), 44)
	parts := []string{pad(f.DocumentNumber, 9), "", pad(f.Nationality, 3), pad(f.DateOfBirth, 6), "", pad(f.Sex, 1), pad(f.DateOfExpiry, 6), "", pad(f.PersonalNumber, 14), ""}
	for _, i := range []int{1, 4, 7, 9} {
		d, err := CheckDigit(parts[i-1])
		if err != nil {
			return "", err
		}
		parts[i] = string(d)
	}
	l2 := strings.Join(parts, "")
	comp, err := CheckDigit(l2[0:10] + l2[13:20] + l2[21:43])
	if err != nil {
		return "", err
	}
	s := l1 + l2 + string(comp)
	if len(s) != 88 || !validMRZChars(s) {
		return "", fmt.Errorf("lds: TD3 fields produce an invalid MRZ %q", s)
	}
	return s, nil
}
