package jws_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"

	"kyso/signer/jws"
)

type noRevocation struct{}

func (noRevocation) OCSP(ctx context.Context, cert, issuer *x509.Certificate) ([]byte, error) {
	return nil, errors.New("no OCSP")
}

func (noRevocation) CRLs(ctx context.Context, cert *x509.Certificate) ([][]byte, error) {
	return nil, errors.New("no CRL")
}

// FuzzExtend feeds Extend (outside input through kyso sign extend and POST
// /v1/sign/extend): it must refuse or extend, never panic. The seeds are
// valid signatures at B-B (compact and JSON) and B-T, so the fuzzer
// reaches the etsiU handling.
func FuzzExtend(f *testing.F) {
	// A self-signed P-256 certificate: quick to make in every fuzz worker.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fuzz"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fuzz"}}, key.Public(), key)
	if err != nil {
		f.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	for _, o := range []jws.Options{{Serialization: jws.Compact}, {Serialization: jws.JSON}, {Serialization: jws.JSON, Stamper: &fakeStamper{}}} {
		out, err := jws.Sign(ctx, key, cert, nil, []byte(`{"a":1}`), o)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(out, []byte(nil))
	}
	f.Add([]byte(`{"payload":"e30","protected":"eyJhbGciOiJFUzI1NiJ9","header":{"etsiU":["e30",{"xVals":[]}]},"signature":"AAAA"}`), []byte(`{}`))
	f.Fuzz(func(t *testing.T, data, content []byte) {
		_, _ = jws.Extend(ctx, data, jws.ExtendOptions{Stamper: &fakeStamper{}, Revocation: noRevocation{}, Content: content})
	})
}
