package hashoid

import (
	"crypto"
	"encoding/asn1"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, c := range []struct {
		h   crypto.Hash
		oid string
	}{
		{crypto.SHA1, "1.3.14.3.2.26"},
		{crypto.SHA224, "2.16.840.1.101.3.4.2.4"},
		{crypto.SHA256, "2.16.840.1.101.3.4.2.1"},
		{crypto.SHA384, "2.16.840.1.101.3.4.2.2"},
		{crypto.SHA512, "2.16.840.1.101.3.4.2.3"},
	} {
		oid, ok := OID(c.h)
		if !ok || oid.String() != c.oid {
			t.Errorf("OID(%v) = %v %v, want %s", c.h, oid, ok, c.oid)
		}
		if h, ok := Hash(oid); !ok || h != c.h {
			t.Errorf("Hash(%s) = %v %v", c.oid, h, ok)
		}
	}
	if _, ok := OID(crypto.MD5); ok {
		t.Error("MD5 has an OID here")
	}
	if _, ok := Hash(asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 5}); ok {
		t.Error("MD5 OID accepted")
	}
	// The returned OID is a copy: changing it does not change the table.
	oid, _ := OID(crypto.SHA256)
	oid[0] = 9
	if again, _ := OID(crypto.SHA256); again[0] != 2 {
		t.Error("table modified through a returned OID")
	}
}
