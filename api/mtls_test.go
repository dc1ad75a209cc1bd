package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"kyso/api"
	"kyso/auth"
	"kyso/store/storetest"
)

// An officer bound to a client certificate authenticates with it over TLS,
// without a token; a certificate from another CA authenticates nobody, nor
// does an unbound certificate from the trusted CA.
func TestClientCertificatePrincipal(t *testing.T) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Kyso test client CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	caCert, _ := x509.ParseCertificate(caDER)
	client := func(cn string, serial int64) (tls.Certificate, *x509.Certificate) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			KeyUsage: x509.KeyUsageDigitalSignature, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}, c
	}
	officerTLS, officerCert := client("officer-1", 2)
	strangerTLS, _ := client("stranger", 3)

	db := storetest.SQLite(t)
	ps, err := auth.NewPrincipals(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ps.Add(context.Background(), auth.AddRequest{Role: auth.RoleOfficer, Name: "officer one", ClientCert: officerCert}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(api.New(api.Deps{Principals: ps}))
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	srv.TLS = &tls.Config{ClientCAs: pool, ClientAuth: tls.VerifyClientCertIfGiven}
	srv.StartTLS()
	defer srv.Close()

	get := func(cert *tls.Certificate) (int, map[string]any) {
		tr := srv.Client().Transport.(*http.Transport).Clone()
		if cert != nil {
			tr.TLSClientConfig.Certificates = []tls.Certificate{*cert}
		}
		resp, err := (&http.Client{Transport: tr}).Get(srv.URL + "/v1/whoami")
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	if code, body := get(&officerTLS); code != 200 || body["role"] != "officer" || body["name"] != "officer one" {
		t.Fatalf("bound certificate: %d %v", code, body)
	}
	if code, _ := get(&strangerTLS); code != 401 {
		t.Fatalf("unbound certificate: %d, want 401", code)
	}
	if code, _ := get(nil); code != 401 {
		t.Fatalf("no certificate: %d, want 401", code)
	}
	otherTLS := selfSignedTLS(t)
	// The client sends no certificate the server's CAs do not accept, or
	// the handshake fails: either way nobody is authenticated.
	if code, _ := get(&otherTLS); code != 0 && code != 401 {
		t.Fatalf("certificate from an untrusted CA got HTTP %d", code)
	}
}

func selfSignedTLS(t *testing.T) tls.Certificate {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "self"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
}
