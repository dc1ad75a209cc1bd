package lds

import (
	"encoding/asn1"
	"errors"
	"fmt"

	"kyso/cms"
)

// ErrMalformed is returned (wrapped) for input that does not parse.
var ErrMalformed = errors.New("lds: malformed input")

func malformed(what string, err error) error {
	if err == nil {
		return fmt.Errorf("%w: %s", ErrMalformed, what)
	}
	return fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
}

// unwrapApplication normalises b to DER and returns the content of its
// outer element, which must carry the given identifier octet (e.g. 0x77
// for EF.SOD, 0x61 for DG1).
func unwrapApplication(b []byte, tag byte, what string) ([]byte, error) {
	if len(b) == 0 || b[0] != tag {
		return nil, malformed(fmt.Sprintf("%s: outer tag is not 0x%02X", what, tag), nil)
	}
	der, err := cms.ToDER(b)
	if err != nil {
		return nil, malformed(what, err)
	}
	var rv asn1.RawValue
	if _, err := asn1.Unmarshal(der, &rv); err != nil {
		return nil, malformed(what, err)
	}
	return rv.Bytes, nil
}

// DataGroupTags maps data-group numbers to their EF tags (Doc 9303-10 4.6).
var dataGroupTags = map[int]byte{
	1: 0x61, 2: 0x75, 3: 0x63, 4: 0x76, 5: 0x65, 6: 0x66, 7: 0x67, 8: 0x68,
	9: 0x69, 10: 0x6A, 11: 0x6B, 12: 0x6C, 13: 0x6D, 14: 0x6E, 15: 0x6F, 16: 0x70,
}

// DataGroupTag returns the outer tag of data group n (0 if n is not 1..16).
func DataGroupTag(n int) byte { return dataGroupTags[n] }
