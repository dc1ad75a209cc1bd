package signer_test

import (
	"context"
	"testing"

	"golang.org/x/crypto/ocsp"

	"kyso/signer"
	"kyso/signer/signertest"
)

func TestNetRevocation(t *testing.T) {
	pki := signertest.New(t, signertest.P256, nil)
	var n signer.NetRevocation
	der, err := n.OCSP(context.Background(), pki.Leaf.Cert, pki.Issuing.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := ocsp.ParseResponse(der, nil); err != nil || r.SerialNumber.Cmp(pki.Leaf.Cert.SerialNumber) != 0 {
		t.Fatalf("%v", err)
	}
	crls, err := n.CRLs(context.Background(), pki.Leaf.Cert)
	if err != nil || len(crls) != 1 {
		t.Fatalf("crls %d: %v", len(crls), err)
	}
	if _, err := n.OCSP(context.Background(), pki.Issuing.Cert, pki.Root.Cert); err == nil {
		t.Fatal("OCSP without a responder succeeded")
	}
}
