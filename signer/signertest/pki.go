// Package signertest builds a throw-away PKI for tests of the signer and the
// time-stamp authority: a root, an issuing CA, a signer certificate, an OCSP
// responder and a TSA certificate, all with software keys, plus helpers to
// produce OCSP responses and CRLs and to check for command-line tools.
package signertest

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
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// KeyKind selects the signer key algorithm.
type KeyKind int

const (
	// P256 is an ECDSA P-256 key.
	P256 KeyKind = iota
	// RSA2048 is an RSA 2048-bit key.
	RSA2048
)

// Entity is a certificate with its private key.
type Entity struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// PKI is a three-level test hierarchy.
type PKI struct {
	Root      Entity
	Issuing   Entity
	Leaf      Entity
	Responder Entity
	TSA       Entity

	srv     *httptest.Server
	mu      sync.Mutex
	signers []*x509.Certificate
}

func (p *PKI) serveRevocation(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	switch r.URL.Path {
	case "/root.crl":
		crls, err := p.CRLs(ctx, p.TSA.Cert)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		_, _ = w.Write(crls[0])
	case "/crl":
		crls, err := p.CRLs(ctx, p.Leaf.Cert)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		_, _ = w.Write(crls[0])
	default:
		var der []byte
		if r.Method == http.MethodPost {
			der, _ = io.ReadAll(io.LimitReader(r.Body, 1<<16))
		} else {
			der, _ = base64.StdEncoding.DecodeString(strings.TrimPrefix(r.URL.Path, "/ocsp/"))
		}
		req, err := ocsp.ParseRequest(der)
		if err != nil {
			http.Error(w, "bad request", 400)
			return
		}
		var cert *x509.Certificate
		p.mu.Lock()
		for _, c := range p.signers {
			if c.SerialNumber.Cmp(req.SerialNumber) == 0 {
				cert = c
			}
		}
		p.mu.Unlock()
		if cert == nil {
			http.Error(w, "unknown certificate", 404)
			return
		}
		resp, err := p.ocspResponse(cert, p.Issuing.Cert, requestNonce(der))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/ocsp-response")
		_, _ = w.Write(resp)
	}
}

var (
	oidEKUTimeStamping = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
	oidExtKeyUsage     = asn1.ObjectIdentifier{2, 5, 29, 37}
)

func newKey(t testing.TB, kind KeyKind) crypto.Signer {
	t.Helper()
	var (
		k   crypto.Signer
		err error
	)
	switch kind {
	case RSA2048:
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func issue(t testing.TB, tmpl *x509.Certificate, parent *Entity, key crypto.Signer) Entity {
	t.Helper()
	signer := key
	parentCert := tmpl
	if parent != nil {
		signer = parent.Key
		parentCert = parent.Cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return Entity{Cert: c, Key: key}
}

// serialCounter returns a random positive 63-bit serial number.
func serialCounter() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	return n.Add(n, big.NewInt(1))
}

// New builds a PKI whose leaf (the signer) uses a key of the given kind. If
// leafKey is non-nil (an HSM key, say) it is certified instead of a fresh
// software key.
func New(t testing.TB, kind KeyKind, leafKey crypto.Signer) *PKI {
	t.Helper()
	now := time.Now().Add(-time.Hour)
	p := &PKI{}
	// A local OCSP responder and CRL server named in the signer's
	// certificate, so that validators fetching revocation online succeed.
	p.srv = httptest.NewServer(http.HandlerFunc(p.serveRevocation))
	t.Cleanup(p.srv.Close)
	p.Root = issue(t, &x509.Certificate{
		SerialNumber:          serialCounter(),
		Subject:               pkix.Name{Country: []string{"VN"}, Organization: []string{"Kyso Test"}, CommonName: "Kyso Test Root CA"},
		NotBefore:             now,
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, nil, newKey(t, P256))
	p.Issuing = issue(t, &x509.Certificate{
		SerialNumber:          serialCounter(),
		Subject:               pkix.Name{Country: []string{"VN"}, Organization: []string{"Kyso Test"}, CommonName: "Kyso Test Citizen CA"},
		NotBefore:             now,
		NotAfter:              now.Add(5 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, &p.Root, newKey(t, P256))
	p.Leaf = p.NewSigner(t, kind, leafKey, "Nguyễn Văn An")
	p.Responder = issue(t, &x509.Certificate{
		SerialNumber:          serialCounter(),
		Subject:               pkix.Name{Country: []string{"VN"}, Organization: []string{"Kyso Test"}, CommonName: "Kyso Test OCSP"},
		NotBefore:             now,
		NotAfter:              now.Add(365 * 24 * time.Hour),
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
	}, &p.Issuing, newKey(t, P256))
	ekuDER, err := asn1.Marshal([]asn1.ObjectIdentifier{oidEKUTimeStamping})
	if err != nil {
		t.Fatal(err)
	}
	p.TSA = issue(t, &x509.Certificate{
		SerialNumber:          serialCounter(),
		Subject:               pkix.Name{Country: []string{"VN"}, Organization: []string{"Kyso Test"}, CommonName: "Kyso Test TSA"},
		NotBefore:             now,
		NotAfter:              now.Add(5 * 365 * 24 * time.Hour),
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtraExtensions:       []pkix.Extension{{Id: oidExtKeyUsage, Critical: true, Value: ekuDER}},
		// The root's CRL, so that validators can check the TSA.
		CRLDistributionPoints: []string{p.srv.URL + "/root.crl"},
	}, &p.Root, newKey(t, P256))
	return p
}

// NewSigner issues another signer certificate from the issuing CA (for a
// fresh software key of the given kind when key is nil), with OCSP and CRL
// locations served by the PKI.
func (p *PKI) NewSigner(t testing.TB, kind KeyKind, key crypto.Signer, commonName string) Entity {
	t.Helper()
	if key == nil {
		key = newKey(t, kind)
	}
	now := time.Now().Add(-time.Hour)
	e := issue(t, &x509.Certificate{
		SerialNumber:          serialCounter(),
		Subject:               pkix.Name{Country: []string{"VN"}, Province: []string{"Hà Nội"}, CommonName: commonName},
		NotBefore:             now,
		NotAfter:              now.Add(2 * 365 * 24 * time.Hour),
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		// As the CA's citizen profile: e-mail protection and document signing.
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		UnknownExtKeyUsage:    []asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 36}},
		OCSPServer:            []string{p.srv.URL + "/ocsp"},
		CRLDistributionPoints: []string{p.srv.URL + "/crl"},
	}, &p.Issuing, key)
	p.mu.Lock()
	p.signers = append(p.signers, e.Cert)
	p.mu.Unlock()
	return e
}

// Chain is the signer's chain excluding the leaf and the root.
func (p *PKI) Chain() []*x509.Certificate { return []*x509.Certificate{p.Issuing.Cert} }

// OCSPResponse returns a "good" OCSP response for cert issued by issuer,
// signed by the delegated responder (for the issuing CA) or by the root.
func (p *PKI) OCSPResponse(ctx context.Context, cert, issuer *x509.Certificate) ([]byte, error) {
	return p.ocspResponse(cert, issuer, nil)
}

var oidOCSPNonce = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}

// requestNonce finds the nonce extension value in a DER OCSP request.
func requestNonce(der []byte) []byte {
	oid, _ := asn1.Marshal(oidOCSPNonce)
	i := bytes.Index(der, oid)
	if i < 0 {
		return nil
	}
	var v []byte
	if _, err := asn1.Unmarshal(der[i+len(oid):], &v); err != nil {
		return nil
	}
	return v
}

func (p *PKI) ocspResponse(cert, issuer *x509.Certificate, nonce []byte) ([]byte, error) {
	responder := p.Responder
	if issuer.Equal(p.Root.Cert) {
		responder = p.Root
	}
	tmpl := ocsp.Response{
		Status:       ocsp.Good,
		SerialNumber: cert.SerialNumber,
		ThisUpdate:   time.Now().Add(-time.Minute),
		NextUpdate:   time.Now().Add(24 * time.Hour),
	}
	if !responder.Cert.Equal(issuer) {
		tmpl.Certificate = responder.Cert
	}
	if nonce != nil {
		tmpl.ExtraExtensions = []pkix.Extension{{Id: oidOCSPNonce, Value: nonce}}
	}
	return ocsp.CreateResponse(issuer, responder.Cert, tmpl, responder.Key)
}

// OCSP implements the signer's revocation source.
func (p *PKI) OCSP(ctx context.Context, cert, issuer *x509.Certificate) ([]byte, error) {
	return p.OCSPResponse(ctx, cert, issuer)
}

// CRLs returns an empty CRL from cert's issuer.
func (p *PKI) CRLs(ctx context.Context, cert *x509.Certificate) ([][]byte, error) {
	var issuer Entity
	switch {
	case cert.CheckSignatureFrom(p.Issuing.Cert) == nil:
		issuer = p.Issuing
	default:
		issuer = p.Root
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:     big.NewInt(1),
		ThisUpdate: time.Now().Add(-time.Minute),
		NextUpdate: time.Now().Add(24 * time.Hour),
	}, issuer.Cert, issuer.Key)
	if err != nil {
		return nil, err
	}
	return [][]byte{der}, nil
}

// WritePEM writes certificates to dir/name as PEM and returns the path.
func WritePEM(t testing.TB, dir, name string, certs ...*x509.Certificate) string {
	t.Helper()
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// NeedTool returns the path of a command-line tool, skipping the test when
// it is missing (failing instead when CI is set).
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required (install it with make test): %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}

// NSSDB creates a temporary NSS database trusting root, for pdfsig.
func NSSDB(t testing.TB, root *x509.Certificate) string {
	t.Helper()
	certutil := NeedTool(t, "certutil")
	dir := t.TempDir()
	if out, err := exec.Command(certutil, "-N", "-d", "sql:"+dir, "--empty-password").CombinedOutput(); err != nil {
		t.Fatalf("certutil -N: %v: %s", err, out)
	}
	rootPEM := WritePEM(t, dir, "root.pem", root)
	if out, err := exec.Command(certutil, "-d", "sql:"+dir, "-A", "-n", "root", "-t", "CT,C,C", "-i", rootPEM).CombinedOutput(); err != nil {
		t.Fatalf("certutil -A: %v: %s", err, out)
	}
	return dir
}
