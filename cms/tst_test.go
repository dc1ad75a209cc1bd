package cms_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/digitorus/timestamp"

	"kyso/cms"
)

// stampWith makes a time-stamp token with the digitorus TSA code carrying
// the given TSTInfo extensions.
func stampWith(t *testing.T, exts []pkix.Extension) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "TSA"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	sum := sha256.Sum256([]byte("signature value"))
	ts := timestamp.Timestamp{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:], Time: time.Now(), Policy: asn1.ObjectIdentifier{1, 2, 3, 4, 1},
		SerialNumber: big.NewInt(9), AddTSACertificate: true, ExtraExtensions: exts}
	resp, err := ts.CreateResponseWithOpts(cert, k, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := timestamp.ParseResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	return parsed.RawToken
}

// A TSTInfo extension marked critical is not understood: the token is
// refused. Non-critical extensions are kept.
func TestTSTInfoExtensions(t *testing.T) {
	oid := asn1.ObjectIdentifier{1, 2, 3, 4, 5, 6, 7}
	value, _ := asn1.Marshal("only valid for internal use")
	critical := stampWith(t, []pkix.Extension{{Id: oid, Critical: true, Value: value}})
	// The token is well formed and carries the critical extension.
	if ts, err := timestamp.Parse(critical); err != nil || len(ts.Extensions) != 1 || !ts.Extensions[0].Critical {
		t.Fatalf("token not as built: %v", err)
	}
	if _, err := cms.ParseTimeStamp(critical); !errors.Is(err, cms.ErrFormat) {
		t.Fatalf("critical extension: %v", err)
	}
	ts, err := cms.ParseTimeStamp(stampWith(t, []pkix.Extension{{Id: oid, Value: value}}))
	if err != nil || len(ts.Info.Extensions) != 1 || !ts.Info.Extensions[0].Id.Equal(oid) {
		t.Fatalf("non-critical extension: %v %+v", err, ts)
	}
	if ts, err := cms.ParseTimeStamp(stampWith(t, nil)); err != nil || len(ts.Info.Extensions) != 0 {
		t.Fatalf("no extension: %v", err)
	}
}
