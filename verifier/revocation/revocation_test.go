package revocation_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"kyso/verifier/revocation"
)

type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(t *testing.T) ca {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Root"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour * 24 * 365),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return ca{c, k}
}

func (c ca) leaf(t *testing.T, serial int64, ocspURL, crlURL string) *x509.Certificate {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "Leaf"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour * 24 * 30)}
	if ocspURL != "" {
		tmpl.OCSPServer = []string{ocspURL}
	}
	if crlURL != "" {
		tmpl.CRLDistributionPoints = []string{crlURL}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, k.Public(), c.key)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := x509.ParseCertificate(der)
	return l
}

func (c ca) ocsp(t *testing.T, leaf *x509.Certificate, this time.Time, revokedAt time.Time) []byte {
	r := ocsp.Response{Status: ocsp.Good, SerialNumber: leaf.SerialNumber, ThisUpdate: this, NextUpdate: this.Add(time.Hour)}
	if !revokedAt.IsZero() {
		r.Status, r.RevokedAt = ocsp.Revoked, revokedAt
	}
	der, err := ocsp.CreateResponse(c.cert, c.cert, r, c.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func (c ca) crl(t *testing.T, this time.Time, revoked map[int64]time.Time) []byte {
	var entries []x509.RevocationListEntry
	for s, at := range revoked {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: big.NewInt(s), RevocationTime: at})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: this, NextUpdate: this.Add(24 * time.Hour), RevokedCertificateEntries: entries}, c.cert, c.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestEmbedded(t *testing.T) {
	c := newCA(t)
	leaf := c.leaf(t, 10, "", "")
	signed := time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Second)
	ctx := context.Background()
	chk := revocation.New(revocation.Config{Offline: true})
	for _, tc := range []struct {
		name      string
		ev        revocation.Evidence
		want      revocation.Status
		revokedAt bool
	}{
		{"ocsp good", revocation.Evidence{Origin: "DSS", OCSP: [][]byte{c.ocsp(t, leaf, signed, time.Time{})}}, revocation.Good, false},
		{"ocsp revoked before", revocation.Evidence{Origin: "DSS", OCSP: [][]byte{c.ocsp(t, leaf, signed, signed.Add(-time.Hour))}}, revocation.Revoked, true},
		{"ocsp revoked after", revocation.Evidence{Origin: "DSS", OCSP: [][]byte{c.ocsp(t, leaf, signed.Add(time.Hour), signed.Add(time.Minute))}}, revocation.Good, true},
		{"ocsp too old", revocation.Evidence{Origin: "DSS", OCSP: [][]byte{c.ocsp(t, leaf, signed.Add(-72*time.Hour), time.Time{})}}, revocation.Unknown, false},
		{"crl good", revocation.Evidence{Origin: "CMS", CRLs: [][]byte{c.crl(t, signed, nil)}}, revocation.Good, false},
		{"crl revoked", revocation.Evidence{Origin: "CMS", CRLs: [][]byte{c.crl(t, signed, map[int64]time.Time{10: signed.Add(-time.Minute)})}}, revocation.Revoked, true},
		{"other ca's crl", revocation.Evidence{Origin: "CMS", CRLs: [][]byte{newCA(t).crl(t, signed, nil)}}, revocation.Unknown, false},
		{"garbage", revocation.Evidence{Origin: "DSS", OCSP: [][]byte{{1, 2, 3}}, CRLs: [][]byte{{4, 5}}}, revocation.Unknown, false},
		{"nothing", revocation.Evidence{}, revocation.Unknown, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := chk.Check(ctx, leaf, c.cert, signed, []revocation.Evidence{tc.ev})
			if r.Status != tc.want || r.RevokedAt.IsZero() == tc.revokedAt {
				t.Fatalf("got %+v, want %s (revokedAt set: %t)", r, tc.want, tc.revokedAt)
			}
		})
	}
}

func TestOnline(t *testing.T) {
	c := newCA(t)
	var ocspHits, crlHits atomic.Int32
	ocspDown := false
	var leaf *x509.Certificate
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ocsp":
			ocspHits.Add(1)
			if ocspDown {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
			w.Write(c.ocsp(t, leaf, time.Now().UTC().Truncate(time.Second), time.Time{}))
		case "/crl":
			crlHits.Add(1)
			w.Write(c.crl(t, time.Now().UTC().Truncate(time.Second), map[int64]time.Time{11: time.Now().Add(-time.Hour)}))
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}
	}))
	defer srv.Close()
	defer close(release)
	u, _ := url.Parse(srv.URL)
	leaf = c.leaf(t, 10, srv.URL+"/ocsp", srv.URL+"/crl")
	ctx := context.Background()
	at := time.Now().Add(-time.Minute)

	chk := revocation.New(revocation.Config{AllowedHosts: []string{u.Host}})
	for range 3 {
		if r := chk.Check(ctx, leaf, c.cert, at, nil); r.Status != revocation.Good {
			t.Fatalf("online OCSP: %+v", r)
		}
	}
	if n := ocspHits.Load(); n != 1 {
		t.Fatalf("OCSP fetched %d times, want 1 (cached)", n)
	}

	ocspDown = true
	revokedLeaf := c.leaf(t, 11, srv.URL+"/ocsp", srv.URL+"/crl")
	if r := chk.Check(ctx, revokedLeaf, c.cert, at, nil); r.Status != revocation.Revoked || crlHits.Load() != 1 {
		t.Fatalf("CRL fallback: %+v (crl hits %d)", r, crlHits.Load())
	}

	notAllowed := revocation.New(revocation.Config{AllowedHosts: []string{"ocsp.example.vn"}})
	before := ocspHits.Load() + crlHits.Load()
	if r := notAllowed.Check(ctx, leaf, c.cert, at, nil); r.Status != revocation.Unknown || ocspHits.Load()+crlHits.Load() != before {
		t.Fatalf("a host outside the allow-list was contacted: %+v", r)
	}
	offline := revocation.New(revocation.Config{Offline: true, AllowedHosts: []string{"*"}})
	if r := offline.Check(ctx, leaf, c.cert, at, nil); r.Status != revocation.Unknown || ocspHits.Load()+crlHits.Load() != before {
		t.Fatalf("offline checker went online: %+v", r)
	}

	slowLeaf := c.leaf(t, 12, srv.URL+"/slow", "")
	quick := revocation.New(revocation.Config{AllowedHosts: []string{u.Host}, Timeout: 50 * time.Millisecond})
	if r := quick.Check(ctx, slowLeaf, c.cert, at, nil); r.Status != revocation.Unknown {
		t.Fatalf("slow responder: %+v", r)
	}
}
