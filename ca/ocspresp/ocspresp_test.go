package ocspresp_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/miekg/pkcs11"
	"golang.org/x/crypto/ocsp"

	"kyso/ca/ocspresp"
	"kyso/hsm"
)

func testCerts(t testing.TB) (*x509.Certificate, *x509.Certificate) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CA"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	issuer, _ := x509.ParseCertificate(der)
	leafT := &x509.Certificate{SerialNumber: big.NewInt(0xabcdef), Subject: pkix.Name{CommonName: "leaf"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, _ = x509.CreateCertificate(rand.Reader, leafT, issuer, k.Public(), k)
	leaf, _ := x509.ParseCertificate(der)
	return issuer, leaf
}

// withNonce re-encodes a request with a nonce extension, as openssl sends.
func withNonce(t testing.TB, req []byte, nonce []byte) []byte {
	var raw struct {
		TBS struct {
			RequestList asn1.RawValue
		}
	}
	if _, err := asn1.Unmarshal(req, &raw); err != nil {
		t.Fatal(err)
	}
	val, _ := asn1.Marshal(nonce)
	type tbs struct {
		RequestList asn1.RawValue
		Extensions  []pkix.Extension `asn1:"explicit,tag:2"`
	}
	out, err := asn1.Marshal(struct{ TBS tbs }{tbs{RequestList: raw.TBS.RequestList, Extensions: []pkix.Extension{{Id: ocspresp.OIDNonce, Value: val}}}})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestParseRequestMatchesXCrypto(t *testing.T) {
	issuer, leaf := testCerts(t)
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		der, err := ocsp.CreateRequest(leaf, issuer, &ocsp.RequestOptions{Hash: h})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := ocsp.ParseRequest(der)
		got, err := ocspresp.ParseRequest(der)
		if err != nil {
			t.Fatal(err)
		}
		if got.HashAlgorithm != want.HashAlgorithm || !bytes.Equal(got.IssuerKeyHash, want.IssuerKeyHash) || !bytes.Equal(got.IssuerNameHash, want.IssuerNameHash) || got.Serial.Cmp(want.SerialNumber) != 0 || got.Nonce != nil {
			t.Fatalf("%v: got %+v want %+v", h, got, want)
		}
		nd := withNonce(t, der, []byte("0123456789abcdef"))
		got, err = ocspresp.ParseRequest(nd)
		if err != nil {
			t.Fatal(err)
		}
		if got.Nonce == nil || !bytes.Contains(got.Nonce.Value, []byte("0123456789abcdef")) {
			t.Fatalf("nonce %+v", got.Nonce)
		}
	}
	for _, bad := range [][]byte{nil, {0x30, 0}, []byte("garbage")} {
		if _, err := ocspresp.ParseRequest(bad); err == nil {
			t.Errorf("accepted %x", bad)
		}
	}
}

type echo struct{ last *ocspresp.Request }

func (e *echo) Respond(_ context.Context, r *ocspresp.Request) ([]byte, error) {
	e.last = r
	return []byte("resp:" + r.Serial.Text(16)), nil
}

func TestHandler(t *testing.T) {
	issuer, leaf := testCerts(t)
	der, _ := ocsp.CreateRequest(leaf, issuer, nil)
	src := &echo{}
	srv := httptest.NewServer(&ocspresp.Handler{Source: src, Prefix: "/ocsp", MaxAge: time.Hour})
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/ocsp", "application/ocsp-request", bytes.NewReader(der))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "resp:abcdef" || resp.Header.Get("Content-Type") != "application/ocsp-response" {
		t.Fatalf("POST: %s", b)
	}
	resp, err = http.Get(srv.URL + "/ocsp/" + base64.StdEncoding.EncodeToString(der))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "resp:abcdef" || resp.Header.Get("Cache-Control") == "no-store" {
		t.Fatalf("GET: %s %v", b, resp.Header)
	}
	resp, _ = http.Post(srv.URL+"/ocsp", "application/ocsp-request", bytes.NewReader([]byte("junk")))
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(b, ocsp.MalformedRequestErrorResponse) {
		t.Fatalf("malformed: %x", b)
	}
}

func FuzzParseRequest(f *testing.F) {
	issuer, leaf := testCerts(f)
	der, _ := ocsp.CreateRequest(leaf, issuer, nil)
	f.Add(der)
	f.Add(withNonce(f, der, []byte("nonce")))
	f.Add([]byte{0x30, 0})
	f.Add(withCertIDs(f, der, 3))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ocspresp.ParseRequest(b)
		if err != nil {
			return
		}
		if len(r.CertIDs) == 0 || len(r.CertIDs) > ocspresp.MaxCertIDs || r.CertIDs[0].Serial != r.Serial {
			t.Fatal("inconsistent request accepted")
		}
		for _, id := range r.CertIDs {
			if id.Serial == nil || len(id.IssuerKeyHash) != id.HashAlgorithm.Size() || len(id.IssuerNameHash) != id.HashAlgorithm.Size() {
				t.Fatal("inconsistent CertID accepted")
			}
		}
	})
}

// CreateResponse's output is accepted by x/crypto/ocsp for every responder
// key type, with one SingleResponse per CertID.
func TestCreateResponseParses(t *testing.T) {
	ec256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	for name, k := range map[string]crypto.Signer{"p256": ec256, "p384": ec384, "rsa": rsaKey} {
		t.Run(name, func(t *testing.T) {
			now := time.Now().UTC().Truncate(time.Second)
			tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "CA " + name}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
				IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
			if err != nil {
				t.Fatal(err)
			}
			issuer, _ := x509.ParseCertificate(der)
			var ids []ocspresp.SingleResponse
			for i, st := range []int{ocsp.Good, ocsp.Revoked, ocsp.Unknown} {
				reqDER, _ := ocsp.CreateRequest(&x509.Certificate{SerialNumber: big.NewInt(int64(100 + i))}, issuer, &ocsp.RequestOptions{Hash: crypto.SHA256})
				req, err := ocspresp.ParseRequest(reqDER)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, ocspresp.SingleResponse{CertID: req.CertID, Status: st, RevokedAt: now.Add(-time.Minute), Reason: 1, ThisUpdate: now, NextUpdate: now.Add(time.Hour)})
			}
			nonce := pkix.Extension{Id: ocspresp.OIDNonce, Value: []byte{4, 2, 'h', 'i'}}
			resp, err := ocspresp.CreateResponse(issuer, k, ocspresp.ResponseTemplate{ProducedAt: now, Responses: ids, Nonce: &nonce})
			if err != nil {
				t.Fatal(err)
			}
			for i, st := range []int{ocsp.Good, ocsp.Revoked, ocsp.Unknown} {
				r, err := ocsp.ParseResponseForCert(resp, &x509.Certificate{SerialNumber: big.NewInt(int64(100 + i))}, issuer)
				if err != nil {
					t.Fatal(err)
				}
				if r.Status != st || !r.ProducedAt.Equal(now) || !r.ThisUpdate.Equal(now) || !r.NextUpdate.Equal(now.Add(time.Hour)) || len(r.Extensions) != 0 ||
					st == ocsp.Revoked && (!r.RevokedAt.Equal(now.Add(-time.Minute)) || r.RevocationReason != 1) {
					t.Fatalf("%d: %+v", i, r)
				}
				if err := r.CheckSignatureFrom(issuer); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// withCertIDs re-encodes a one-CertID request with its CertID repeated n
// times.
func withCertIDs(t testing.TB, req []byte, n int) []byte {
	var raw struct {
		TBS struct {
			RequestList []asn1.RawValue
		}
	}
	if _, err := asn1.Unmarshal(req, &raw); err != nil {
		t.Fatal(err)
	}
	list := make([]asn1.RawValue, n)
	for i := range list {
		list[i] = raw.TBS.RequestList[0]
	}
	out, err := asn1.Marshal(struct {
		TBS struct{ RequestList []asn1.RawValue }
	}{struct{ RequestList []asn1.RawValue }{list}})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestParseRequestSeveralCertIDs(t *testing.T) {
	issuer, leaf := testCerts(t)
	der, _ := ocsp.CreateRequest(leaf, issuer, nil)
	for _, n := range []int{1, 2, ocspresp.MaxCertIDs} {
		got, err := ocspresp.ParseRequest(withCertIDs(t, der, n))
		if err != nil {
			t.Fatal(err)
		}
		if len(got.CertIDs) != n || got.Serial.Cmp(leaf.SerialNumber) != 0 || got.CertIDs[n-1].Serial.Cmp(leaf.SerialNumber) != 0 {
			t.Fatalf("%d CertIDs: %+v", n, got)
		}
	}
	if _, err := ocspresp.ParseRequest(withCertIDs(t, der, ocspresp.MaxCertIDs+1)); !errors.Is(err, ocspresp.ErrMalformed) {
		t.Fatalf("%d CertIDs: %v", ocspresp.MaxCertIDs+1, err)
	}
}

type failing struct{ err error }

func (f failing) Respond(context.Context, *ocspresp.Request) ([]byte, error) { return nil, f.err }

// A responder whose HSM cannot sign now answers tryLater; any other failure
// is internalError.
func TestHandlerHSMUnavailableIsTryLater(t *testing.T) {
	issuer, leaf := testCerts(t)
	der, _ := ocsp.CreateRequest(leaf, issuer, nil)
	for _, tc := range []struct {
		err  error
		want []byte
	}{
		{fmt.Errorf("ocsp: sign: %w", pkcs11.Error(pkcs11.CKR_DEVICE_ERROR)), ocsp.TryLaterErrorResponse},
		{fmt.Errorf("ocsp: sign: %w", hsm.ErrClosed), ocsp.TryLaterErrorResponse},
		{errors.New("database gone"), ocsp.InternalErrorErrorResponse},
	} {
		srv := httptest.NewServer(&ocspresp.Handler{Source: failing{tc.err}, Prefix: "/ocsp", MaxAge: time.Hour})
		resp, err := http.Post(srv.URL+"/ocsp", "application/ocsp-request", bytes.NewReader(der))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		srv.Close()
		if !bytes.Equal(b, tc.want) {
			t.Fatalf("%v: answered %x, want %x", tc.err, b, tc.want)
		}
	}
}
