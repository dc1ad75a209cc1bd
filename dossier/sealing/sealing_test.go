package sealing_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"testing"

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
