package dossier_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"testing"

	"kyso/dossier"
	"kyso/dossier/dossiertest"
	"kyso/dossier/resultpdf"
	"kyso/signer/pades"
	"kyso/store/storetest"
	"kyso/verifier"
)

// A PDF form signed by the applicant passes through the real verifier.
func TestSignatureFormsSignedPDF(t *testing.T) {
	ctx := context.Background()
	pki := dossiertest.NewCitizenPKI(t)
	alice := pki.Citizen(t, "001099012345", "NGUYEN VAN A")
	form, _, err := resultpdf.Render(resultpdf.Document{Title: "Tờ khai", Fields: []resultpdf.Field{{Label: "Người nộp", Value: "001099012345"}}})
	if err != nil {
		t.Fatal(err)
	}
	tsa := dossiertest.NewSealer(t, storetest.SQLite(t))
	var signed bytes.Buffer
	if err := pades.Sign(ctx, bytes.NewReader(form), int64(len(form)), &signed, pades.Options{Level: pades.BLT, Signer: alice.Key,
		Cert: alice.Cert, Chain: alice.Chain, Root: pki.Root.Cert, Hash: crypto.SHA256, Name: "NGUYEN VAN A",
		Stamper: tsa.TSA, Revocation: pki}); err != nil {
		t.Fatal(err)
	}
	// The time-stamp comes from the sealer's test TSA, so its root is
	// trusted as well.
	v := verifier.New(verifier.Options{Roots: []*x509.Certificate{pki.Root.Cert, tsa.PKI.Root.Cert}})
	forms := dossier.NewSignatureForms(dossier.FormsConfig{Verifier: v})
	check, err := forms.VerifyForm(ctx, "001099012345", dossier.Form{PDF: signed.Bytes()})
	if err != nil {
		rep, _ := v.Verify(ctx, verifier.Input{Data: signed.Bytes()})
		t.Fatalf("%v: %+v", err, rep.Signatures)
	}
	if check.Kind != dossier.FormPDF || check.UID != "CCCD:001099012345" {
		t.Fatalf("check %+v", check)
	}
	if _, err := forms.VerifyForm(ctx, "001099054321", dossier.Form{PDF: signed.Bytes()}); code(err) != "form-signer-mismatch" {
		t.Fatalf("other applicant: %v", err)
	}
	// One byte of the signed page content changed.
	tampered := bytes.Clone(signed.Bytes())
	tampered[bytes.Index(tampered, []byte("stream\n"))+20] ^= 1
	if _, err := forms.VerifyForm(ctx, "001099012345", dossier.Form{PDF: tampered}); code(err) != "form-signature-invalid" {
		t.Fatalf("tampered PDF: %v", err)
	}
}
