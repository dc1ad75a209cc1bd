// Package dossiertest provides fixtures for tests of the dossier process: a
// throw-away citizen PKI (root and issuing CA with P-256 keys) whose
// certificates carry UID=CCCD:<id>, JWS forms signed with x5c, a real
// agency Sealer (PAdES B-LT with a signature time-stamp and a /DSS, over the
// signer package's test PKI) and a fake one.
package dossiertest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/crypto/ocsp"

	"kyso/dossier"
	"kyso/signer/pades"
	"kyso/signer/signertest"
	"kyso/store"
	"kyso/tsa"
	"kyso/verifier"
	"kyso/verifier/revocation"
)

// oidUID is the userId attribute.
var oidUID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

// Entity is a certificate with its key and issuing chain (root excluded).
type Entity struct {
	Cert  *x509.Certificate
	Key   *ecdsa.PrivateKey
	Chain []*x509.Certificate
}

// CitizenPKI is a root and an issuing CA for citizen certificates, with an
// OCSP responder (httptest) that citizen certificates name.
type CitizenPKI struct {
	Root, Issuing Entity
	// OCSPURL is the responder's URL, served until the test ends.
	OCSPURL string
	mu      sync.Mutex
	serial  int64
	revoked map[string]time.Time
}

// NewCitizenPKI builds the hierarchy.
func NewCitizenPKI(t testing.TB) *CitizenPKI {
	t.Helper()
	p := &CitizenPKI{serial: 100, revoked: map[string]time.Time{}}
	srv := httptest.NewServer(http.HandlerFunc(p.serveOCSP))
	t.Cleanup(srv.Close)
	p.OCSPURL = srv.URL + "/ocsp"
	now := time.Now()
	p.Root = p.issue(t, &x509.Certificate{
		Subject:   pkix.Name{CommonName: "Test National Root CA", Organization: []string{"Kyso test"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(10 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, nil)
	p.Issuing = p.issue(t, &x509.Certificate{
		Subject:   pkix.Name{CommonName: "Test Citizen CA", Organization: []string{"Kyso test"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(5 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, &p.Root)
	return p
}

func (p *CitizenPKI) issue(t testing.TB, tmpl *x509.Certificate, parent *Entity) Entity {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.serial++
	tmpl.SerialNumber = big.NewInt(p.serial)
	p.mu.Unlock()
	parentCert, parentKey := tmpl, key
	var chain []*x509.Certificate
	if parent != nil {
		parentCert, parentKey = parent.Cert, parent.Key
		if parent.Cert.Subject.String() != p.Root.Cert.Subject.String() {
			chain = append([]*x509.Certificate{parent.Cert}, parent.Chain...)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return Entity{Cert: c, Key: key, Chain: chain}
}

// Citizen issues a signing certificate for a 12-digit ID.
func (p *CitizenPKI) Citizen(t testing.TB, id, name string) Entity {
	t.Helper()
	now := time.Now()
	return p.issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: name, Country: []string{"VN"},
			ExtraNames: []pkix.AttributeTypeAndValue{{Type: oidUID, Value: "CCCD:" + id}}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour),
		KeyUsage:   x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		OCSPServer: []string{p.OCSPURL},
	}, &p.Issuing)
}

// Revoke makes the responder answer "revoked" (key compromise, at) for cert.
func (p *CitizenPKI) Revoke(cert *x509.Certificate, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.revoked[cert.SerialNumber.String()] = at
}

// serveOCSP answers for citizen certificates, signed by the issuing CA.
func (p *CitizenPKI) serveOCSP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	req, err := ocsp.ParseRequest(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	now := time.Now().UTC().Truncate(time.Second)
	tmpl := ocsp.Response{Status: ocsp.Good, SerialNumber: req.SerialNumber, ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour)}
	p.mu.Lock()
	at, revoked := p.revoked[req.SerialNumber.String()]
	p.mu.Unlock()
	if revoked {
		tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, at.UTC().Truncate(time.Second), ocsp.KeyCompromise
	}
	der, err := ocsp.CreateResponse(p.Issuing.Cert, p.Issuing.Cert, tmpl, p.Issuing.Key)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	_, _ = w.Write(der)
}

// SignJWS signs payload as a compact JWS (ES256) with the certificate and
// its chain in x5c.
func (e Entity) SignJWS(t testing.TB, payload []byte) string {
	t.Helper()
	return e.SignJWSWith(t, payload, nil)
}

// SignJWSWith is SignJWS with extra protected headers.
func (e Entity) SignJWSWith(t testing.TB, payload []byte, headers map[string]any) string {
	t.Helper()
	var x5c []string
	for _, c := range append([]*x509.Certificate{e.Cert}, e.Chain...) {
		x5c = append(x5c, base64.StdEncoding.EncodeToString(c.Raw))
	}
	opts := (&jose.SignerOptions{}).WithHeader("x5c", x5c)
	for k, v := range headers {
		opts = opts.WithHeader(jose.HeaderKey(k), v)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: e.Key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// OCSP answers "good" for any certificate of the hierarchy, signed by its
// issuer (with p, pades can add a /DSS for citizen signatures).
func (p *CitizenPKI) OCSP(ctx context.Context, cert, issuer *x509.Certificate) ([]byte, error) {
	var key *ecdsa.PrivateKey
	switch {
	case issuer.Equal(p.Issuing.Cert):
		key = p.Issuing.Key
	case issuer.Equal(p.Root.Cert):
		key = p.Root.Key
	default:
		return nil, errors.New("citizen pki: unknown issuer")
	}
	return ocsp.CreateResponse(issuer, issuer, ocsp.Response{Status: ocsp.Good, SerialNumber: cert.SerialNumber,
		ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(24 * time.Hour)}, key)
}

// CRLs returns none (OCSP covers the hierarchy).
func (p *CitizenPKI) CRLs(ctx context.Context, cert *x509.Certificate) ([][]byte, error) {
	return nil, nil
}

// Verifier returns the document verifier trusting p's root, checking
// revocation online at p's responder.
func (p *CitizenPKI) Verifier() *verifier.Verifier {
	u, _ := url.Parse(p.OCSPURL)
	return verifier.New(verifier.Options{Roots: []*x509.Certificate{p.Root.Cert},
		Revocation: revocation.New(revocation.Config{AllowedHosts: []string{u.Host}})})
}

// Forms returns the FormVerifier of p's Verifier.
func (p *CitizenPKI) Forms() *dossier.SignatureForms {
	return dossier.NewSignatureForms(dossier.FormsConfig{Verifier: p.Verifier()})
}

// Sealer seals at PAdES B-LT with a certification signature, a time-stamp
// from an in-process TSA and a /DSS, using the signer package's test PKI;
// every agency shares the one seal certificate.
type Sealer struct {
	PKI *signertest.PKI
	TSA *tsa.Server
}

// NewSealer builds the sealer; db records the TSA's serials.
func NewSealer(t testing.TB, db *store.DB) *Sealer {
	t.Helper()
	pki := signertest.New(t, signertest.P256, nil)
	if err := tsa.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	srv, err := tsa.New(tsa.Config{Cert: pki.TSA.Cert, Signer: pki.TSA.Key, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}}, db)
	if err != nil {
		t.Fatal(err)
	}
	return &Sealer{PKI: pki, TSA: srv}
}

// SealPDF implements dossier.Sealer.
func (s *Sealer) SealPDF(ctx context.Context, agency string, pdf []byte, stamp *dossier.Stamp) ([]byte, error) {
	var out bytes.Buffer
	o := pades.Options{
		Level: pades.BLT, Signer: s.PKI.Leaf.Key, Cert: s.PKI.Leaf.Cert, Chain: s.PKI.Chain(), Root: s.PKI.Root.Cert,
		Hash: crypto.SHA256, Name: agency, Reason: "Kết quả giải quyết thủ tục hành chính", Location: "Việt Nam",
		Certify: true, Stamper: s.TSA, Revocation: s.PKI,
	}
	if stamp != nil {
		o.Appearance = &pades.Appearance{Page: stamp.Page, X: stamp.X, Y: stamp.Y, Width: stamp.Width, Height: stamp.Height}
	}
	err := pades.Sign(ctx, bytes.NewReader(pdf), int64(len(pdf)), &out, o)
	if err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// SealDigest implements dossier.Sealer.
func (s *Sealer) SealDigest(ctx context.Context, agency string, digest []byte) ([]byte, []byte, error) {
	sig, err := s.PKI.Leaf.Key.Sign(rand.Reader, digest, crypto.SHA256)
	return sig, s.PKI.Leaf.Cert.Raw, err
}

// FakeSealer "seals" without a PKI: SealPDF appends a comment naming the
// agency, SealDigest signs with a software key. For tests of the process
// that do not look at the seal.
type FakeSealer struct {
	Key  *ecdsa.PrivateKey
	Fail error
}

// NewFakeSealer returns a FakeSealer with a fresh key.
func NewFakeSealer() *FakeSealer {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	return &FakeSealer{Key: k}
}

// SealPDF implements dossier.Sealer.
func (f *FakeSealer) SealPDF(ctx context.Context, agency string, pdf []byte, stamp *dossier.Stamp) ([]byte, error) {
	if f.Fail != nil {
		return nil, f.Fail
	}
	return append(append([]byte(nil), pdf...), []byte("\n% sealed by "+agency+"\n")...), nil
}

// SealDigest implements dossier.Sealer.
func (f *FakeSealer) SealDigest(ctx context.Context, agency string, digest []byte) ([]byte, []byte, error) {
	if f.Fail != nil {
		return nil, nil, f.Fail
	}
	if len(digest) != sha256.Size {
		return nil, nil, errors.New("fake sealer: not a SHA-256 digest")
	}
	sig, err := ecdsa.SignASN1(rand.Reader, f.Key, digest)
	return sig, []byte("fake-cert"), err
}

// AcceptForms is a FormVerifier that accepts any form as signed by the
// applicant.
type AcceptForms struct{}

// VerifyForm implements dossier.FormVerifier.
func (AcceptForms) VerifyForm(ctx context.Context, applicant string, f dossier.Form) (*dossier.FormCheck, error) {
	kind := dossier.FormJWS
	if len(f.PDF) > 0 {
		kind = dossier.FormPDF
	}
	return &dossier.FormCheck{Kind: kind, Signer: "CN=test,UID=CCCD:" + applicant, UID: "CCCD:" + applicant}, nil
}
