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

func TestToDER(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"DER unchanged", "3003020101", "3003020101"},
		{"non-minimal length", "308103020101", "3003020101"},
		{"long-form short length inside", "300402810101", "3003020101"},
		{"indefinite SEQUENCE", "30800201010000", "3003020101"},
		{"constructed OCTET STRING", "2406040161040162", "04026162"},
		{"constructed UTF8String", "2c800c01610c01620000", "0c026162"},
		{"nested constructed OCTET STRING", "248024800401610000040162" + "0000", "04026162"},
		{"constructed PrintableString", "3306130161130162", "13026162"},
	} {
		in, _ := hex.DecodeString(tc.in)
		want, _ := hex.DecodeString(tc.want)
		got, err := ToDER(in)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: got %x, %v; want %s", tc.name, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ name, in string }{
		{"trailing bytes", "300302010100"},
		{"trailing after indefinite", "3080020101000001"},
		{"truncated", "3080"},
		{"length beyond data", "3084ffffffff"},
		{"indefinite primitive", "0480"},
	} {
		in, _ := hex.DecodeString(tc.in)
		if got, err := ToDER(in); err == nil {
			t.Errorf("%s: accepted as %x", tc.name, got)
		}
	}
}

func TestAppendLength(t *testing.T) {
	for n, want := range map[int]string{0: "00", 0x7f: "7f", 0x80: "8180", 0xff: "81ff", 0x100: "820100", 0x12345: "83012345"} {
		if got := hex.EncodeToString(AppendLength([]byte{}, n)); got != want {
			t.Errorf("%d: %s, want %s", n, got, want)
		}
	}
}
