package ber

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func TestToDER(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"definite unchanged", "300602010102010a", "300602010102010a"},
		{"indefinite sequence", "30800201010000", "3003020101"},
		{"nested indefinite", "3080a08004016100000000", "3005a003040161"},
		{"long form shortened", "30810302010a", "300302010a"},
		{"constructed octet string", "2480040161040162" + "0000", "04026162"},
		{"high tag number", "7f6103020101", "7f6103020101"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, _ := hex.DecodeString(tt.in)
			want, _ := hex.DecodeString(tt.want)
			got, err := ToDER(in)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("got %x want %x", got, want)
			}
		})
	}
}

func TestToDERErrors(t *testing.T) {
	for _, in := range []string{"", "30", "3005020101", "308002010100", "0480", "300302010100"} {
		b, _ := hex.DecodeString(in)
		if _, err := ToDER(b); err == nil {
			t.Errorf("%s: expected error", in)
		}
	}
}

func FuzzToDER(f *testing.F) {
	f.Add([]byte{0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00})
	f.Add([]byte{0x24, 0x80, 0x04, 0x01, 0x61, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		der, err := ToDER(b)
		if err != nil {
			return
		}
		again, err := ToDER(der)
		if err != nil {
			t.Fatalf("DER output does not reparse: %v", err)
		}
		if !bytes.Equal(again, der) {
			t.Fatalf("not idempotent")
		}
	})
}
