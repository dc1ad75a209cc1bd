package lds

import (
	"encoding/asn1"
	"fmt"
	"strings"
	"unicode/utf8"
)

// DG13 field numbers of the Vietnamese citizen identity card (CCCD).
const (
	DG13IDNumber            = 1
	DG13FullName            = 2
	DG13BirthDate           = 3 // dd/mm/yyyy
	DG13Sex                 = 4
	DG13Nationality         = 5
	DG13Ethnicity           = 6
	DG13Religion            = 7
	DG13PlaceOfOrigin       = 8
	DG13Residence           = 9
	DG13IdentifyingFeatures = 10
	DG13IssueDate           = 11
	DG13ExpiryDate          = 12
	DG13Parents             = 13
	DG13Spouse              = 14
	DG13OtherNumber1        = 15
	DG13OtherNumber2        = 16
)

// DG13 holds the Vietnamese personal data of EF.DG13. Fields are keyed by
// their number; unknown numbers are kept, absent ones are empty.
type DG13 struct {
	// Fields maps field number to its values (one for plain fields; a
	// field encoded as a SEQUENCE of strings, such as parents, has several).
	Fields map[int][]string
}

// Field returns the values of field n joined by "; " ("" when absent).
func (d *DG13) Field(n int) string { return strings.Join(d.Fields[n], "; ") }

// IDNumber and the accessors below return the named fields.
func (d *DG13) IDNumber() string   { return strings.TrimSpace(d.Field(DG13IDNumber)) }
func (d *DG13) FullName() string   { return strings.TrimSpace(d.Field(DG13FullName)) }
func (d *DG13) BirthDate() string  { return strings.TrimSpace(d.Field(DG13BirthDate)) }
func (d *DG13) Sex() string        { return strings.TrimSpace(d.Field(DG13Sex)) }
func (d *DG13) ExpiryDate() string { return strings.TrimSpace(d.Field(DG13ExpiryDate)) }
func (d *DG13) IssueDate() string  { return strings.TrimSpace(d.Field(DG13IssueDate)) }

// ParseDG13 parses the CCCD layout
// 6D { SEQ { INT 1, OID, SET { SEQ { INT n, value } … } } }.
// Values are PrintableString or UTF8String (IA5String is tolerated), or a
// SEQUENCE of them; elements may come in any order; unknown field numbers
// are kept and missing ones tolerated.
func ParseDG13(b []byte) (*DG13, error) {
	inner, err := unwrapApplication(b, 0x6D, "DG13")
	if err != nil {
		return nil, err
	}
	var outer asn1.RawValue
	rest, err := asn1.Unmarshal(inner, &outer)
	if err != nil || len(rest) != 0 || outer.Tag != asn1.TagSequence || !outer.IsCompound {
		return nil, malformed("DG13: expected one SEQUENCE", err)
	}
	d := &DG13{Fields: map[int][]string{}}
	cur := outer.Bytes
	for len(cur) > 0 {
		var el asn1.RawValue
		r, err := asn1.Unmarshal(cur, &el)
		if err != nil {
			return nil, malformed("DG13 element", err)
		}
		cur = r
		if el.Class == asn1.ClassUniversal && el.Tag == asn1.TagSet {
			if err := d.parseSet(el.Bytes); err != nil {
				return nil, err
			}
		}
		// INT version and OID are informative.
	}
	if len(d.Fields) == 0 {
		return nil, malformed("DG13 has no fields", nil)
	}
	return d, nil
}

func (d *DG13) parseSet(b []byte) error {
	for len(b) > 0 {
		var el asn1.RawValue
		r, err := asn1.Unmarshal(b, &el)
		if err != nil {
			return malformed("DG13 field", err)
		}
		b = r
		if el.Class != asn1.ClassUniversal || el.Tag != asn1.TagSequence {
			continue
		}
		var num int
		rest, err := asn1.Unmarshal(el.Bytes, &num)
		if err != nil {
			return malformed("DG13 field number", err)
		}
		if num < 1 || num > 64 {
			return malformed(fmt.Sprintf("DG13 field number %d", num), nil)
		}
		var values []string
		for len(rest) > 0 {
			var v asn1.RawValue
			rr, err := asn1.Unmarshal(rest, &v)
			if err != nil {
				return malformed(fmt.Sprintf("DG13 field %d value", num), err)
			}
			rest = rr
			vals, err := dg13Strings(v, 0)
			if err != nil {
				return fmt.Errorf("DG13 field %d: %w", num, err)
			}
			values = append(values, vals...)
		}
		// A repeated number adds values (some cards split parents in two).
		d.Fields[num] = append(d.Fields[num], values...)
	}
	return nil
}

func dg13Strings(v asn1.RawValue, depth int) ([]string, error) {
	if v.Class != asn1.ClassUniversal {
		return nil, nil
	}
	switch v.Tag {
	case asn1.TagPrintableString, asn1.TagUTF8String, asn1.TagIA5String:
		if !utf8.Valid(v.Bytes) {
			return nil, malformed("invalid UTF-8", nil)
		}
		return []string{string(v.Bytes)}, nil
	case asn1.TagSequence, asn1.TagSet:
		if depth > 4 {
			return nil, malformed("nested too deep", nil)
		}
		var out []string
		cur := v.Bytes
		for len(cur) > 0 {
			var e asn1.RawValue
			r, err := asn1.Unmarshal(cur, &e)
			if err != nil {
				return nil, malformed("value", err)
			}
			cur = r
			s, err := dg13Strings(e, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, s...)
		}
		return out, nil
	}
	return nil, nil // integers and other types carry no text we use
}
