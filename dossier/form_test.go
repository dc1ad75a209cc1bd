package dossier_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"kyso/dossier"
	"kyso/dossier/dossiertest"
	"kyso/verifier"
	"kyso/verifier/report"
)

func TestSignatureFormsJWS(t *testing.T) {
	pki := dossiertest.NewCitizenPKI(t)
	alice := pki.Citizen(t, "001099012345", "NGUYEN VAN A")
	bob := pki.Citizen(t, "001099054321", "TRAN THI B")
	stranger := dossiertest.NewCitizenPKI(t).Citizen(t, "001099012345", "NGUYEN VAN A")
	forms := pki.Forms()
	payload := []byte(`{"procedure_code":"1.001612"}`)
	now := time.Now().UTC().Format(time.RFC3339)
	good := alice.SignJWS(t, payload)
	parts := strings.Split(good, ".")
	noChain := dossiertest.Entity{Cert: alice.Cert, Key: alice.Key}
	cases := []struct {
		name, jws, code string
	}{
		{"plain", good, ""},
		{"JAdES iat", alice.SignJWSWith(t, payload, map[string]any{"iat": time.Now().Unix()}), ""},
		{"JAdES iat critical", alice.SignJWSWith(t, payload, map[string]any{"iat": time.Now().Unix(), "crit": []string{"iat"}}), ""},
		{"JAdES sigT critical", alice.SignJWSWith(t, payload, map[string]any{"sigT": now, "crit": []string{"sigT"}}), ""},
		{"iat critical but absent", alice.SignJWSWith(t, payload, map[string]any{"crit": []string{"iat"}}), "form-signature-invalid"},
		{"iat in the future", alice.SignJWSWith(t, payload, map[string]any{"iat": time.Now().Add(time.Hour).Unix()}), "form-signature-invalid"},
		{"iat a string", alice.SignJWSWith(t, payload, map[string]any{"iat": "1748779200"}), "form-signature-invalid"},
		{"iat negative", alice.SignJWSWith(t, payload, map[string]any{"iat": -1}), "form-signature-invalid"},
		{"leaf only, intermediate missing", noChain.SignJWS(t, payload), "form-signature-invalid"},
		{"unknown critical header", alice.SignJWSWith(t, payload, map[string]any{"exp": 1, "crit": []string{"exp"}}), "form-signature-invalid"},
		{"sigT critical but absent", alice.SignJWSWith(t, payload, map[string]any{"crit": []string{"sigT"}}), "form-signature-invalid"},
		{"sigT in the future", alice.SignJWSWith(t, payload, map[string]any{"sigT": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}), "form-signature-invalid"},
		{"unencoded payload", alice.SignJWSWith(t, payload, map[string]any{"b64": false}), "form-signature-invalid"},
		{"payload not an object", alice.SignJWS(t, []byte(`"text"`)), "form-signature-invalid"},
		{"other citizen", bob.SignJWS(t, payload), "form-signer-mismatch"},
		{"untrusted root", stranger.SignJWS(t, payload), "form-signature-invalid"},
		{"payload swapped", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"x":1}`)) + "." + parts[2], "form-signature-invalid"},
		{"signature cut", parts[0] + "." + parts[1] + "." + parts[2][:10], "form-signature-invalid"},
		{"alg none", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".", "form-signature-invalid"},
		{"two parts", parts[0] + "." + parts[1], "form-signature-invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			check, err := forms.VerifyForm(context.Background(), "001099012345", dossier.Form{JWS: tc.jws})
			if got := code(err); got != tc.code {
				t.Fatalf("%s, want %q", got, tc.code)
			}
			if err == nil && (check.UID != "CCCD:001099012345" || check.Kind != dossier.FormJWS) {
				t.Fatalf("check %+v", check)
			}
		})
	}
	if _, err := forms.VerifyForm(context.Background(), "001099012345", dossier.Form{PDF: []byte("%PDF-1.7")}); code(err) != "form-signature-invalid" {
		t.Errorf("unreadable PDF form: %v", err)
	}
	if _, err := dossier.NewSignatureForms(dossier.FormsConfig{}).VerifyForm(context.Background(), "001099012345", dossier.Form{JWS: good}); code(err) != "invalid-request" {
		t.Errorf("form without a verifier: %v", err)
	}
}

// TestSignatureFormsRevoked: a JWS form signed with a certificate revoked
// before it was submitted is refused, as the verifier refuses it; the same
// form was accepted before the revocation.
func TestSignatureFormsRevoked(t *testing.T) {
	pki := dossiertest.NewCitizenPKI(t)
	alice := pki.Citizen(t, "001099012345", "NGUYEN VAN A")
	forms := pki.Forms()
	form := alice.SignJWSWith(t, []byte(`{"procedure_code":"1.001612"}`), map[string]any{"iat": time.Now().Add(-time.Minute).Unix()})
	if _, err := forms.VerifyForm(context.Background(), "001099012345", dossier.Form{JWS: form}); err != nil {
		t.Fatalf("before revocation: %v", err)
	}
	// Revoked an hour ago; a new verifier (the first one may keep the
	// "good" response until its nextUpdate, as OCSP allows).
	pki.Revoke(alice.Cert, time.Now().Add(-time.Hour))
	rep, err := pki.Verifier().Verify(context.Background(), verifier.Input{Data: []byte(form)})
	if err != nil || rep.Status.MainIndication == report.TotalPassed {
		t.Fatalf("the verifier accepts the revoked signer: %v %+v", err, rep.Status)
	}
	_, err = pki.Forms().VerifyForm(context.Background(), "001099012345", dossier.Form{JWS: form})
	if code(err) != "form-signature-invalid" || !strings.Contains(err.Error(), "REVOKED") {
		t.Fatalf("revoked signer: %v", err)
	}
}

type fakePDF struct{ rep *report.Report }

func (f fakePDF) Verify(ctx context.Context, in verifier.Input) (*report.Report, error) {
	rep := *f.rep
	rep.Document.Format = verifier.FormatPDF
	return &rep, nil
}

func TestSignatureFormsPDF(t *testing.T) {
	signed := func(main report.Indication, uid string) *report.Report {
		return &report.Report{Status: report.Status{MainIndication: main}, Signatures: []report.Signature{{
			Status: report.Status{MainIndication: main}, Signer: &report.Signer{UID: uid, Subject: "CN=A"}}}}
	}
	cases := []struct {
		name string
		rep  *report.Report
		code string
	}{
		{"passed by applicant", signed(report.TotalPassed, "CCCD:001099012345"), ""},
		{"passed by someone else", signed(report.TotalPassed, "CCCD:001099054321"), "form-signer-mismatch"},
		{"indeterminate", signed(report.Indeterminate, "CCCD:001099012345"), "form-signature-invalid"},
		{"failed", signed(report.TotalFailed, "CCCD:001099012345"), "form-signature-invalid"},
	}
	for _, tc := range cases {
		forms := dossier.NewSignatureForms(dossier.FormsConfig{Verifier: fakePDF{tc.rep}})
		_, err := forms.VerifyForm(context.Background(), "001099012345", dossier.Form{PDF: []byte("%PDF-1.7")})
		if got := code(err); got != tc.code {
			t.Errorf("%s: %s, want %q", tc.name, got, tc.code)
		}
	}
}
