package lint_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"

	"kyso/ca/lint"
)

func TestCheckStopsBadCertificate(t *testing.T) {
	l, err := lint.New()
	if err != nil {
		t.Fatal(err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	good := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Root", Country: []string{"VN"}},
		NotBefore: now, NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, PublicKey: k.Public(), SubjectKeyId: []byte{1, 2, 3},
	}
	if err := l.Check(good, nil); err != nil {
		t.Fatalf("good root: %v", err)
	}
	bad := *good
	bad.IsCA = false // keyCertSign without cA (RFC 5280 4.2.1.3)
	bad.BasicConstraintsValid = false
	err = l.Check(&bad, nil)
	var le *lint.Error
	if !errors.As(err, &le) || len(le.Findings) == 0 {
		t.Fatalf("want lint error, got %v", err)
	}
	t.Log(le)
}
