package crl_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	zl "github.com/zmap/zlint/v3/lint"

	"kyso/ca/crl"
)

func TestBuildAndIDP(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CA"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, SubjectKeyId: []byte{1, 2, 3, 4}}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	issuer, _ := x509.ParseCertificate(der)
	now := time.Now()
	for _, scope := range []crl.Scope{crl.UserCerts, crl.CACerts, crl.All} {
		out, err := crl.Build(issuer, k, crl.Params{
			Number: big.NewInt(7), ThisUpdate: now, NextUpdate: now.Add(time.Hour), URL: "http://kyso.test/crl/citizen-1/3.crl", Scope: scope,
			Entries: []crl.Entry{{Serial: big.NewInt(42), RevokedAt: now, Reason: 1}, {Serial: big.NewInt(43), RevokedAt: now}},
		})
		if err != nil {
			t.Fatal(err)
		}
		rl, err := x509.ParseRevocationList(out)
		if err != nil {
			t.Fatal(err)
		}
		if err := rl.CheckSignatureFrom(issuer); err != nil {
			t.Fatal(err)
		}
		if rl.Number.Int64() != 7 || len(rl.RevokedCertificateEntries) != 2 || rl.RevokedCertificateEntries[0].ReasonCode != 1 {
			t.Fatalf("crl %+v", rl)
		}
		var idp crl.IDP
		found := false
		for _, e := range rl.Extensions {
			if e.Id.Equal(crl.OIDIssuingDistributionPoint) {
				found = e.Critical
				idp, err = crl.ParseIDP(e.Value)
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		if !found || len(idp.URLs) != 1 || idp.URLs[0] != "http://kyso.test/crl/citizen-1/3.crl" ||
			idp.OnlyUser != (scope == crl.UserCerts) || idp.OnlyCA != (scope == crl.CACerts) {
			t.Fatalf("scope %d: idp %+v critical %v", scope, idp, found)
		}
	}
	if _, err := crl.Build(issuer, k, crl.Params{Number: big.NewInt(1), ThisUpdate: now, NextUpdate: now, URL: "x"}); err == nil {
		t.Fatal("accepted nextUpdate == thisUpdate")
	}
}

func TestShard(t *testing.T) {
	counts := make([]int, 8)
	for i := int64(0); i < 800; i++ {
		counts[crl.Shard(big.NewInt(i*7919), 8)]++
	}
	for s, n := range counts {
		if n == 0 {
			t.Errorf("shard %d empty", s)
		}
	}
	if crl.Shard(big.NewInt(5), 1) != 0 {
		t.Fatal("one shard")
	}
}

func FuzzParseIDP(f *testing.F) {
	ext, _ := crl.IDPExtension("http://kyso.test/crl/root/0.crl", crl.CACerts)
	f.Add(ext.Value)
	f.Add([]byte{0x30, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = crl.ParseIDP(b)
	})
}

// The CRLs pass zlint's CRL lints (RFC 5280 and community).
func TestCRLLintsClean(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CA", Country: []string{"VN"}}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, SubjectKeyId: []byte{1, 2, 3, 4}}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	issuer, _ := x509.ParseCertificate(der)
	now := time.Now()
	out, err := crl.Build(issuer, k, crl.Params{Number: big.NewInt(3), ThisUpdate: now, NextUpdate: now.Add(24 * time.Hour), URL: "http://kyso.test/crl/citizen-1/0.crl",
		Entries: []crl.Entry{{Serial: big.NewInt(42), RevokedAt: now, Reason: 1}, {Serial: big.NewInt(43), RevokedAt: now, Reason: 6}}})
	if err != nil {
		t.Fatal(err)
	}
	rl, err := zx509.ParseRevocationList(out)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := zl.GlobalRegistry().Filter(zl.FilterOptions{IncludeSources: zl.SourceList{zl.RFC5280, zl.Community}})
	if err != nil {
		t.Fatal(err)
	}
	rs := zlint.LintRevocationListEx(rl, reg)
	for name, r := range rs.Results {
		if r.Status == zl.Warn || r.Status == zl.Error || r.Status == zl.Fatal {
			t.Errorf("%s: %s %s", name, r.Status, r.Details)
		}
	}
}
