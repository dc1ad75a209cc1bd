package signer

import (
	"context"
	"crypto/x509"
	"testing"
)

func TestCARevocationCRLs(t *testing.T) {
	var got []string
	r := CARevocation{CRLFunc: func(ctx context.Context, issuer string, shard int) ([]byte, error) {
		got = append(got, issuer+"#"+string(rune('0'+shard)))
		return []byte{1}, nil
	}}
	cert := &x509.Certificate{CRLDistributionPoints: []string{"https://kyso.example/crl/citizen-ca-1/3.crl", "https://other/x.crl", "http://h/crl//1.crl"}}
	crls, err := r.CRLs(context.Background(), cert)
	if err != nil || len(crls) != 1 || len(got) != 1 || got[0] != "citizen-ca-1#3" {
		t.Fatalf("crls %d, calls %v, err %v", len(crls), got, err)
	}
}
