package ca_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"net"
	"testing"

	"kyso/ca"
	"kyso/ca/lint"
	"kyso/ca/profile"
)

// One certificate of every profile goes through the CA, and zlint reports
// no error or warning for any of them (the real, HSM-signed certificate is
// linted again here).
func TestEveryProfileIssuesLintClean(t *testing.T) {
	e := sqliteEnv(t, "")
	ctx := context.Background()
	l, err := lint.New()
	if err != nil {
		t.Fatal(err)
	}
	subjects := map[profile.Name]profile.Subject{
		profile.Citizen:       {CommonName: "Nguyễn Thị Minh Khai", Province: "Nghệ An", UID: profile.CitizenUID("040190000001")},
		profile.Seal:          {CommonName: "Sở Tư pháp Hà Nội", Organization: "Thành phố Hà Nội", UID: profile.AgencyUID("", "0101234567-001"), Email: "stp@hanoi.gov.vn"},
		profile.Officer:       {CommonName: "Đặng Văn Lâm", Organization: "UBND Thành phố Hà Nội", UID: profile.CitizenUID("001088000123")},
		profile.TLSServer:     {CommonName: "kyso.example.vn", Organization: "Kyso", DNSNames: []string{"kyso.example.vn", "www.kyso.example.vn"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}},
		profile.OCSPResponder: {CommonName: "Extra OCSP Responder", Organization: "Kyso"},
		profile.TimeStamping:  {CommonName: "Extra TSA", Organization: "Kyso"},
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range profile.All() {
		for _, key := range []string{"ec", "rsa"} {
			t.Run(string(spec.Name)+"/"+key, func(t *testing.T) {
				csr, _ := newCSR(t)
				if key == "rsa" {
					csr = rsaCSR(t, rsaKey)
				}
				iss, err := e.ca.Issue(ctx, ca.IssueRequest{Profile: spec.Name, Subject: subjects[spec.Name], SubjectID: "x", CSR: csr})
				if err != nil {
					t.Fatal(err)
				}
				if err := l.CheckDER(iss.Certificate.Raw); err != nil {
					t.Fatal(err)
				}
				roots := x509.NewCertPool()
				roots.AddCert(e.ca.Root())
				inter := x509.NewCertPool()
				inter.AddCert(iss.Chain[0])
				if _, err := iss.Certificate.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
					t.Fatal(err)
				}
				if !iss.Certificate.NotAfter.After(iss.Certificate.NotBefore) || iss.Certificate.NotAfter.After(iss.Chain[0].NotAfter) {
					t.Fatal("validity outside the issuer's")
				}
			})
		}
	}
}

func rsaCSR(t *testing.T, k crypto.Signer) *x509.CertificateRequest {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, k)
	if err != nil {
		t.Fatal(err)
	}
	csr, _ := x509.ParseCertificateRequest(der)
	return csr
}

func FuzzParseCSR(f *testing.F) {
	csr, _ := newCSR(f)
	f.Add("-----BEGIN CERTIFICATE REQUEST-----\n" + b64(csr.Raw) + "\n-----END CERTIFICATE REQUEST-----\n")
	f.Add(b64(csr.Raw))
	f.Add("MIIB")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ca.ParseCSR(s)
		if err == nil && c.CheckSignature() != nil {
			t.Fatal("accepted a CSR with a bad signature")
		}
	})
}
