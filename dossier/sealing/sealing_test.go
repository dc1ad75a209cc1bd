package sealing_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kyso/ca/profile"
	"kyso/credential"
	"kyso/dossier"
	"kyso/dossier/resultpdf"
	"kyso/dossier/sealing"
	"kyso/problem"
	"kyso/signer"
	"kyso/signer/signertest"
	"kyso/store/storetest"
	"kyso/tsa"
	"kyso/verifier"
	"kyso/verifier/report"
)

type seals struct {
	pki *signertest.PKI
}

func (s seals) Seal(ctx context.Context, agency string) (*credential.Credential, crypto.Signer, error) {
	if agency != "UBND-HN" {
		return nil, nil, credential.ErrNotFound
	}
	var chain [][]byte
	for _, c := range s.pki.Chain() {
		chain = append(chain, c.Raw)
	}
	return &credential.Credential{ID: "seal-1", Kind: credential.KindSeal, Subject: agency, CertDER: s.pki.Leaf.Cert.Raw, ChainDER: chain,
		Status: credential.StatusActive}, s.pki.Leaf.Key, nil
}

func TestSealer(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	pki := signertest.New(t, signertest.P256, nil)
	if err := tsa.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	ts, err := tsa.New(tsa.Config{Cert: pki.TSA.Cert, Signer: pki.TSA.Key, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}}, db)
	if err != nil {
		t.Fatal(err)
	}
	s := sealing.New(seals{pki}, signer.Deps{Stamper: ts, Revocation: pki, Root: pki.Root.Cert})
	pdf, box, err := resultpdf.Render(resultpdf.Document{Agency: "Ủy ban nhân dân thành phố Hà Nội", Title: "Kết quả",
		Fields: []resultpdf.Field{{Label: "Mã hồ sơ", Value: "dos_1"}, {Label: "Kết quả giải quyết", Value: "Chấp thuận"}}})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.SealPDF(ctx, "UBND-HN", pdf, &dossier.Stamp{Page: box.Page, X: box.X, Y: box.Y, Width: box.Width, Height: box.Height})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := verifier.New(verifier.Options{Roots: []*x509.Certificate{pki.Root.Cert}}).Verify(ctx, verifier.Input{Data: sealed})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Status.MainIndication != report.TotalPassed || rep.Signatures[0].Level != "PAdES-BASELINE-LT" {
		t.Fatalf("sealed result: %+v level %s", rep.Status, rep.Signatures[0].Level)
	}
	digest := sha256.Sum256([]byte("scan"))
	sig, certDER, err := s.SealDigest(ctx, "UBND-HN", digest[:])
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(certDER)
	if !ecdsa.VerifyASN1(cert.PublicKey.(*ecdsa.PublicKey), digest[:], sig) {
		t.Fatal("digest seal does not verify")
	}
	_, err = s.SealPDF(ctx, "UBND-XX", pdf, nil)
	if p, ok := problem.As(err); !ok || !errors.Is(err, sealing.ErrNoSeal) || p.Status != 409 {
		t.Fatalf("agency without seal: %v", err)
	}
}

// agencySeal is a seal credential whose certificate is rendered by the
// CA's seal profile (agency name, the organisation it belongs to, its
// official email) and certified by the test PKI's issuing CA.
type agencySeal struct {
	cert  *x509.Certificate
	key   crypto.Signer
	chain [][]byte
}

func (s agencySeal) Seal(ctx context.Context, agency string) (*credential.Credential, crypto.Signer, error) {
	return &credential.Credential{ID: "seal-2", Kind: credential.KindSeal, Subject: agency, CertDER: s.cert.Raw, ChainDER: s.chain,
		Status: credential.StatusActive}, s.key, nil
}

func newAgencySeal(t *testing.T, pki *signertest.PKI, sub profile.Subject) agencySeal {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := profile.Lookup(profile.Seal)
	now := time.Now().Add(-time.Hour)
	tmpl, err := spec.Render(csr, sub, profile.Params{Serial: big.NewInt(now.UnixNano()), NotBefore: now, NotAfter: now.Add(365 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, pki.Issuing.Cert, tmpl.PublicKey, pki.Issuing.Key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return agencySeal{cert: cert, key: key, chain: [][]byte{pki.Issuing.Cert.Raw}}
}

// A sealed e-result's visible stamp shows, as Vietnamese e-government
// stamps do, the agency, the organisation it belongs to and its official
// email from the seal certificate (pdftotext), and pdfsig validates the
// seal.
func TestSealStampShowsOrganisationAndEmail(t *testing.T) {
	pdftotext := signertest.NeedTool(t, "pdftotext")
	pdfsig := signertest.NeedTool(t, "pdfsig")
	ctx := context.Background()
	db := storetest.SQLite(t)
	pki := signertest.New(t, signertest.P256, nil)
	if err := tsa.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	ts, err := tsa.New(tsa.Config{Cert: pki.TSA.Cert, Signer: pki.TSA.Key, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}}, db)
	if err != nil {
		t.Fatal(err)
	}
	seal := newAgencySeal(t, pki, profile.Subject{CommonName: "UBND Thành phố Hà Nội", Organization: "Thành phố Hà Nội",
		UID: profile.AgencyUID("1012345", ""), Email: "vanphong@hanoi.gov.vn"})
	s := sealing.New(seal, signer.Deps{Stamper: ts, Revocation: pki, Root: pki.Root.Cert})
	pdf, box, err := resultpdf.Render(resultpdf.Document{Agency: "Ủy ban nhân dân thành phố Hà Nội", Title: "Kết quả",
		Fields: []resultpdf.Field{{Label: "Kết quả giải quyết", Value: "Chấp thuận"}}})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.SealPDF(ctx, "UBND-HN", pdf, &dossier.Stamp{Page: box.Page, X: box.X, Y: box.Y, Width: box.Width, Height: box.Height})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "e-result.pdf")
	if err := os.WriteFile(path, sealed, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(pdftotext, "-raw", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	flat := strings.Join(strings.Fields(string(out)), " ")
	for _, want := range []string{"Ký bởi: UBND Thành phố Hà Nội", "Cơ quan: Thành phố Hà Nội", "Email: vanphong@hanoi.gov.vn", "Thời gian ký:"} {
		if !strings.Contains(flat, want) {
			t.Errorf("stamp lacks %q:\n%s", want, out)
		}
	}
	nss := signertest.NSSDB(t, pki.Root.Cert)
	sig, err := exec.Command(pdfsig, "-nssdir", "sql:"+nss, path).CombinedOutput()
	if err != nil || !strings.Contains(string(sig), "Signature is Valid") {
		t.Errorf("pdfsig: %v\n%s", err, sig)
	}
}
