package cms

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func TestBERToDER(t *testing.T) {
	for _, tc := range []struct{ ber, der string }{
		// SEQUENCE (indefinite) { INTEGER 1 }
		{"30800201010000", "3003020101"},
		// constructed OCTET STRING (indefinite) of two segments
		{"2480040161040162" + "0000", "04026162"},
		// nested indefinite lengths
		{"3080a08030800201020000" + "00000000", "3007a00530030201" + "02"},
	} {
		ber, _ := hex.DecodeString(tc.ber)
		want, _ := hex.DecodeString(tc.der)
		got, err := berToDER(ber)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: got %x, %v; want %s", tc.ber, got, err, tc.der)
		}
	}
	for _, bad := range []string{"3080", "30800201", "0480", "3084ffffffff"} {
		b, _ := hex.DecodeString(bad)
		if _, err := berToDER(b); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}
