package pki

import (
	"encoding/pem"
	"kyso/internal/sharedvectors"
	"os"
	"testing"
)

func readCert(t *testing.T, name string) *Certificate {
	t.Helper()
	b := sharedvectors.Read(t, "emrtd", "csca", name)
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	c, err := ParseCertificate(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

func TestRealCSCASelfSigned(t *testing.T) {
	tests := []struct {
		file, curve string
		explicit    bool
		selfSigned  bool
	}{
		{"VN_CSCA_ePassport_Vietnam_brainpoolP512r1.cer", "EC brainpoolP512r1", true, true},
		// A link certificate: signed by the previous Austrian CSCA key.
		{"AT_CSCA-AUSTRIA_ski2692.pem", "EC brainpoolP384r1", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c := readCert(t, tt.file)
			if tt.curve != "" && c.PublicKey.String() != tt.curve {
				t.Errorf("key %s, want %s", c.PublicKey, tt.curve)
			}
			if c.PublicKey.ExplicitParams != tt.explicit {
				t.Errorf("explicit params = %v", c.PublicKey.ExplicitParams)
			}
			if !c.IsCA {
				t.Error("CSCA without CA basic constraint")
			}
			if err := c.CheckSignatureFrom(c); (err == nil) != tt.selfSigned {
				t.Errorf("self-signature check: %v (self-signed expected: %v)", err, tt.selfSigned)
			}
			t.Logf("%s: %s, %s", c.Subject.String(), c.PublicKey, c.SignatureAlgorithm.Algorithm)
		})
	}
}

func TestTamperedCertificateSignatureFails(t *testing.T) {
	c := readCert(t, "VN_CSCA_ePassport_Vietnam_brainpoolP512r1.cer")
	tbs := append([]byte(nil), c.RawTBS...)
	tbs[len(tbs)-5] ^= 1
	bad := *c
	bad.RawTBS = tbs
	if err := bad.CheckSignatureFrom(c); err == nil {
		t.Fatal("tampered TBS verifies")
	}
}

func FuzzParseCertificate(f *testing.F) {
	for _, n := range []string{"VN_CSCA_ePassport_Vietnam_brainpoolP512r1.cer"} {
		if p, ok := sharedvectors.Lookup("emrtd", "csca", n); ok {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// Parsing only: a generic-curve signature check costs milliseconds per
		// input, which starves the fuzzer; TestRealCSCASelfSigned covers them.
		c, err := ParseCertificate(b)
		if err != nil {
			return
		}
		_ = c.Fingerprint()
	})
}
