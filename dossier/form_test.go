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
	if _, err := forms.VerifyForm(context.Background(), "001099012345", dossier.Form{PDF: []byte("%PDF-1.7")}); code(err) != "invalid-request" {
		t.Errorf("PDF form without a PDF verifier: %v", err)
	}
}

type fakePDF struct{ rep *report.Report }

func (f fakePDF) Verify(ctx context.Context, in verifier.Input) (*report.Report, error) {
	return f.rep, nil
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
		forms := dossier.NewSignatureForms(dossier.FormsConfig{PDF: fakePDF{tc.rep}})
		_, err := forms.VerifyForm(context.Background(), "001099012345", dossier.Form{PDF: []byte("%PDF-1.7")})
		if got := code(err); got != tc.code {
			t.Errorf("%s: %s, want %q", tc.name, got, tc.code)
		}
	}
}
