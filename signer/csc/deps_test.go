package csc_test

import (
	"context"
	"encoding/asn1"
	"testing"

	"kyso/signer"
	"kyso/signer/signertest"
	"kyso/store/storetest"
	"kyso/tsa"
)

func signerDeps(t *testing.T, pki *signertest.PKI) signer.Deps {
	t.Helper()
	db := storetest.SQLite(t)
	if err := tsa.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	ts, err := tsa.New(tsa.Config{Cert: pki.TSA.Cert, Signer: pki.TSA.Key, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1, 3, 1}}, db)
	if err != nil {
		t.Fatal(err)
	}
	return signer.Deps{Stamper: ts, Revocation: pki, Root: pki.Root.Cert}
}
