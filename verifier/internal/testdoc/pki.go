// Package testdoc builds test material for the verifier: a test PKI made in
// code (root, signers, a time-stamping authority, an OCSP responder and a CRL
// served by httptest), minimal PDFs, PDFs signed with
// github.com/digitorus/pdfsign, and incremental updates (DSS, tampering).
package testdoc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	"golang.org/x/crypto/ocsp"
)

// Key is a certificate with its private key.
type Key struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// PKI is a test PKI with live TSA, OCSP and CRL endpoints.
type PKI struct {
	Root    Key
	TSA     Key
	Server  *httptest.Server
	TSAURL  string
	OCSPURL string
	CRLURL  string
	// TSATime, when set, fixes the time-stamps' genTime.
	TSATime func() time.Time
	// TSAExtensions, when set, are added to the TSTInfo of every token.
	TSAExtensions []pkix.Extension

	mu      sync.Mutex
	revoked map[string]time.Time
	serial  int64
}

var oidUID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Base is the validity start of test certificates.
var Base = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// NewPKI makes a root CA, a TSA and starts the endpoints.
func NewPKI(t testing.TB) *PKI {
	p := &PKI{revoked: map[string]time.Time{}, serial: 100}
	rk := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{Country: []string{"VN"}, Organization: []string{"Kyso Test"}, CommonName: "Kyso Test Root CA"},
		NotBefore:             Base,
		NotAfter:              Base.AddDate(30, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, rk.Public(), rk)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := x509.ParseCertificate(der)
	p.Root = Key{root, rk}
	mux := http.NewServeMux()
	mux.HandleFunc("/tsa", p.serveTSA)
	mux.HandleFunc("/ocsp", p.serveOCSP)
	mux.HandleFunc("/crl", p.serveCRL)
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Server.Close)
	p.TSAURL = p.Server.URL + "/tsa"
	p.OCSPURL = p.Server.URL + "/ocsp"
	p.CRLURL = p.Server.URL + "/crl"
	p.TSA = p.Issue(t, Profile{CN: "Kyso Test TSA", EKU: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}})
	return p
}

// Profile describes a certificate to issue.
type Profile struct {
	CN        string
	UID       string
	NotBefore time.Time
	NotAfter  time.Time
	EKU       []x509.ExtKeyUsage
	// NonCriticalEKU leaves a TSA's timeStamping extended key usage
	// non-critical (RFC 3161 §2.3 wants it critical).
	NonCriticalEKU bool
	Issuer         *Key // default the root
}

// Issue issues a certificate from the root (or p.Issuer).
func (p *PKI) Issue(t testing.TB, pr Profile) Key {
	k := newKey(t)
	p.mu.Lock()
	p.serial++
	serial := p.serial
	p.mu.Unlock()
	if pr.NotBefore.IsZero() {
		pr.NotBefore = Base
	}
	if pr.NotAfter.IsZero() {
		pr.NotAfter = Base.AddDate(10, 0, 0)
	}
	subj := pkix.Name{Country: []string{"VN"}, CommonName: pr.CN}
	if pr.UID != "" {
		subj.ExtraNames = []pkix.AttributeTypeAndValue{{Type: oidUID, Value: pr.UID}}
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               subj,
		NotBefore:             pr.NotBefore,
		NotAfter:              pr.NotAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage:           pr.EKU,
		BasicConstraintsValid: true,
		OCSPServer:            []string{p.OCSPURL},
		CRLDistributionPoints: []string{p.CRLURL},
	}
	if len(pr.EKU) == 1 && pr.EKU[0] == x509.ExtKeyUsageTimeStamping && !pr.NonCriticalEKU {
		// RFC 3161 §2.3: a TSA certificate's only extended key usage,
		// id-kp-timeStamping, in a critical extension.
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: []byte{0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08}})
	}
	iss := p.Root
	if pr.Issuer != nil {
		iss = *pr.Issuer
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, iss.Cert, k.Public(), iss.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return Key{c, k}
}

// Revoke marks cert revoked at the given time for OCSP and the CRL.
func (p *PKI) Revoke(cert *x509.Certificate, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.revoked[cert.SerialNumber.String()] = at
}

func (p *PKI) tsaTime() time.Time {
	if p.TSATime != nil {
		return p.TSATime()
	}
	return time.Now().UTC().Truncate(time.Second)
}

func (p *PKI) serveTSA(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	req, err := timestamp.ParseRequest(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ts := timestamp.Timestamp{
		HashAlgorithm: req.HashAlgorithm, HashedMessage: req.HashedMessage,
		Time: p.tsaTime(), Nonce: req.Nonce, Policy: asn1.ObjectIdentifier{1, 2, 3, 4, 1},
		AddTSACertificate: true, SerialNumber: big.NewInt(time.Now().UnixNano()),
		ExtraExtensions: p.TSAExtensions,
	}
	resp, err := ts.CreateResponseWithOpts(p.TSA.Cert, p.TSA.Key, crypto.SHA256)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	w.Write(resp)
}

// OCSP returns an OCSP response for cert signed by the root, as of thisUpdate.
func (p *PKI) OCSP(t testing.TB, cert *x509.Certificate, thisUpdate time.Time) []byte {
	p.mu.Lock()
	rev, isRevoked := p.revoked[cert.SerialNumber.String()]
	p.mu.Unlock()
	tmpl := ocsp.Response{Status: ocsp.Good, SerialNumber: cert.SerialNumber, ThisUpdate: thisUpdate, NextUpdate: thisUpdate.Add(7 * 24 * time.Hour)}
	if isRevoked && !rev.After(thisUpdate) {
		tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, rev, ocsp.KeyCompromise
	}
	der, err := ocsp.CreateResponse(p.Root.Cert, p.Root.Cert, tmpl, p.Root.Key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func (p *PKI) serveOCSP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	req, err := ocsp.ParseRequest(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	now := time.Now().UTC().Truncate(time.Second)
	p.mu.Lock()
	rev, isRevoked := p.revoked[req.SerialNumber.String()]
	p.mu.Unlock()
	tmpl := ocsp.Response{Status: ocsp.Good, SerialNumber: req.SerialNumber, ThisUpdate: now, NextUpdate: now.Add(time.Hour)}
	if isRevoked && !rev.After(now) {
		tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, rev, ocsp.KeyCompromise
	}
	der, err := ocsp.CreateResponse(p.Root.Cert, p.Root.Cert, tmpl, p.Root.Key)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	w.Write(der)
}

// CRL returns a CRL signed by the root as of thisUpdate.
func (p *PKI) CRL(thisUpdate time.Time) ([]byte, error) {
	p.mu.Lock()
	var entries []x509.RevocationListEntry
	for s, at := range p.revoked {
		n, _ := new(big.Int).SetString(s, 10)
		if !at.After(thisUpdate) {
			entries = append(entries, x509.RevocationListEntry{SerialNumber: n, RevocationTime: at})
		}
	}
	p.mu.Unlock()
	return x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(thisUpdate.Unix()), ThisUpdate: thisUpdate, NextUpdate: thisUpdate.Add(24 * time.Hour), RevokedCertificateEntries: entries}, p.Root.Cert, p.Root.Key)
}

func (p *PKI) serveCRL(w http.ResponseWriter, r *http.Request) {
	der, err := p.CRL(time.Now().UTC().Truncate(time.Second))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Write(der)
}

// WriteRootPEM writes the root certificate to dir and returns the path.
func (p *PKI) WriteRootPEM(t testing.TB, dir string) string {
	path := filepath.Join(dir, "root.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Root.Cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// KeyPEM returns PEM of a certificate and its PKCS#8 key (for openssl).
func KeyPEM(t testing.TB, k Key) (certPEM, keyPEM []byte) {
	der, err := x509.MarshalPKCS8PrivateKey(k.Key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.Cert.Raw}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}
