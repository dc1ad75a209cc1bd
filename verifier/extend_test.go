package verifier_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"testing"
	"time"

	"kyso/cms"
	"kyso/signer"
	"kyso/signer/signertest"
	"kyso/verifier"
	"kyso/verifier/report"
)

// An e-result sealed at B-T with a certificate valid for one day still
// validates two years later (validation time moved forward, offline) once
// extended to B-LTA while the certificate was valid; without the extension
// nothing shows the certificate was not revoked when it signed. A second
// extension renews the archive time-stamp and keeps it valid.
func TestExtendKeepsSignaturesVerifiable(t *testing.T) {
	ctx := context.Background()
	pki, ts, _, _ := signerSetup(t)
	k, cert := shortLivedSigner(t, pki)
	now := time.Now()
	deps := signer.Deps{Stamper: ts, Revocation: pki, Root: pki.Root.Cert}
	sealed, err := signer.SealPDF(ctx, k, cert, pki.Chain(), signertest.PDF(t, signertest.PDFOptions{Pages: 1}), signer.PDFOptions{
		Level: signer.BT, Certify: true, Name: "Sở Tư pháp Hà Nội", Reason: "Kết quả giải quyết thủ tục hành chính", Deps: deps,
	})
	if err != nil {
		t.Fatal(err)
	}
	extended, err := signer.ExtendPDF(ctx, sealed, deps)
	if err != nil {
		t.Fatal(err)
	}
	renewed, err := signer.ExtendPDF(ctx, extended, deps)
	if err != nil {
		t.Fatal(err)
	}
	later := verifier.New(verifier.Options{Roots: []*x509.Certificate{pki.Root.Cert}, At: now.AddDate(2, 0, 0)})
	for _, tc := range []struct {
		name  string
		doc   []byte
		want  report.Indication
		level string
	}{
		{"not extended", sealed, report.Indeterminate, "PAdES-BASELINE-T"},
		{"extended", extended, report.TotalPassed, "PAdES-BASELINE-LTA"},
		{"extended twice", renewed, report.TotalPassed, "PAdES-BASELINE-LTA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := later.Verify(ctx, verifier.Input{Data: tc.doc})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Status.MainIndication != tc.want || rep.Signatures[0].Level != tc.level {
				var b bytes.Buffer
				rep.Text(&b)
				t.Fatalf("got %s/%s level %q, want %s %s\n%s", rep.Status.MainIndication, rep.Status.SubIndication, rep.Signatures[0].Level, tc.want, tc.level, b.String())
			}
		})
	}
	if _, err := signer.ExtendPDF(ctx, signertest.PDF(t, signertest.PDFOptions{Pages: 1}), deps); err == nil {
		t.Fatal("an unsigned PDF was extended")
	}
}

// A CAdES signature made at B-T with a certificate valid for one day
// validates two years later (offline) once extended to B-LTA while the
// certificate was valid, and after a renewal of its archive time-stamp;
// without the extension nothing shows the certificate was unrevoked when
// it signed.
func TestExtendCAdESKeepsSignaturesVerifiable(t *testing.T) {
	ctx := context.Background()
	pki, ts, _, _ := signerSetup(t)
	k, cert := shortLivedSigner(t, pki)
	deps := signer.Deps{Stamper: ts, Revocation: pki, Root: pki.Root.Cert}
	content := []byte("Kết quả giải quyết thủ tục hành chính\n")
	p7s, err := signer.SignCMS(ctx, signer.Key{Signer: k, Cert: cert, Chain: pki.Chain()}, bytes.NewReader(content), signer.CMSOptions{Level: signer.BT, Deps: deps})
	if err != nil {
		t.Fatal(err)
	}
	// A counter-signature by a second short-lived certificate, which the
	// archive time-stamps cover too.
	ck, ccert := shortLivedSigner(t, pki)
	sd, err := cms.Parse(p7s)
	if err != nil {
		t.Fatal(err)
	}
	p7s = withCounter(t, p7s, counterSign(t, signertest.Entity{Cert: ccert, Key: ck}, sd.Signers[0].Signature, false), ccert)
	// The content is not needed: the message-digest attribute stands for it.
	extended, _, err := signer.Extend(ctx, p7s, nil, deps)
	if err != nil {
		t.Fatal(err)
	}
	renewed, _, err := signer.Extend(ctx, extended, content, deps)
	if err != nil {
		t.Fatal(err)
	}
	later := verifier.New(verifier.Options{Roots: []*x509.Certificate{pki.Root.Cert}, At: time.Now().AddDate(2, 0, 0)})
	for _, tc := range []struct {
		name     string
		doc      []byte
		want     report.Indication
		level    string
		archives int
	}{
		{"not extended", p7s, report.Indeterminate, "CAdES-BASELINE-T", 0},
		{"extended", extended, report.TotalPassed, "CAdES-BASELINE-LTA", 1},
		{"extended twice", renewed, report.TotalPassed, "CAdES-BASELINE-LTA", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := later.Verify(ctx, verifier.Input{Data: tc.doc, Detached: content})
			if err != nil {
				t.Fatal(err)
			}
			s := rep.Signatures[0]
			if len(rep.Signatures) != 2 || rep.Signatures[1].Status.MainIndication != tc.want {
				b, _ := json.MarshalIndent(rep.Signatures, "", " ")
				t.Fatalf("counter-signature not %s\n%s", tc.want, b)
			}
			archives := 0
			for _, ts := range s.TimeStamps {
				if ts.Type == "archive" {
					archives++
					if ts.Status.MainIndication != report.TotalPassed {
						t.Errorf("archive time-stamp %+v", ts.Status)
					}
				}
			}
			if testing.Verbose() {
				var b bytes.Buffer
				rep.Text(&b)
				t.Log(b.String())
			}
			if rep.Status.MainIndication != tc.want || s.Level != tc.level || archives != tc.archives {
				var b bytes.Buffer
				rep.Text(&b)
				t.Fatalf("got %s/%s level %q with %d archive time-stamps, want %s %s with %d\n%s", rep.Status.MainIndication, rep.Status.SubIndication, s.Level, archives, tc.want, tc.level, tc.archives, b.String())
			}
		})
	}
}

// shortLivedSigner issues a seal certificate valid for one day.
func shortLivedSigner(t *testing.T, pki *signertest.PKI) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{Country: []string{"VN"}, Organization: []string{"Sở Tư pháp"}, CommonName: "Sở Tư pháp Hà Nội"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(23 * time.Hour), BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		OCSPServer:  pki.Leaf.Cert.OCSPServer, CRLDistributionPoints: pki.Leaf.Cert.CRLDistributionPoints,
	}, pki.Issuing.Cert, k.Public(), pki.Issuing.Key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return k, cert
}
