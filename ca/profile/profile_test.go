package profile_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"kyso/ca/lint"
	"kyso/ca/profile"
)

func ecKey(t testing.TB, c elliptic.Curve) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func csrFor(t testing.TB, k crypto.Signer) *x509.CertificateRequest {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "ignored"}}, k)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

type hierarchy struct {
	root, issuing *x509.Certificate
	issuingKey    crypto.Signer
}

func newHierarchy(t testing.TB, l *lint.Linter) hierarchy {
	t.Helper()
	now := time.Now()
	rootKey := ecKey(t, elliptic.P384())
	rt, err := profile.RootTemplate(profile.CAParams{
		Subject:   pkix.Name{Country: []string{"VN"}, Organization: []string{"Kyso"}, CommonName: "Kyso Root CA"},
		PublicKey: rootKey.Public(), Serial: big.NewInt(1), NotBefore: now, NotAfter: now.Add(20 * 365 * 24 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Check(rt, nil); err != nil {
		t.Fatalf("root: %v", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, rt, rt, rootKey.Public(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := x509.ParseCertificate(der)
	ik := ecKey(t, elliptic.P384())
	it, err := profile.IssuingTemplate(profile.CAParams{
		Subject:   pkix.Name{Country: []string{"VN"}, Organization: []string{"Kyso"}, CommonName: "Kyso Citizen CA 1"},
		PublicKey: ik.Public(), Serial: big.NewInt(2), NotBefore: now, NotAfter: now.Add(10 * 365 * 24 * time.Hour),
		CRLURL: "http://kyso.test/crl/root/0.crl", CAIssuersURL: "http://kyso.test/ca/root.crt",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Check(it, root); err != nil {
		t.Fatalf("issuing: %v", err)
	}
	der, err = x509.CreateCertificate(rand.Reader, it, root, ik.Public(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	iss, _ := x509.ParseCertificate(der)
	return hierarchy{root: root, issuing: iss, issuingKey: ik}
}

func TestEveryProfileLintsClean(t *testing.T) {
	l, err := lint.New()
	if err != nil {
		t.Fatal(err)
	}
	h := newHierarchy(t, l)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	subjects := map[profile.Name]profile.Subject{
		profile.Citizen:       {CommonName: "Nguyễn Văn An", Province: "Hà Nội", UID: profile.CitizenUID("001099012345")},
		profile.Seal:          {CommonName: "UBND Thành phố Hà Nội", Organization: "Thành phố Hà Nội", UID: profile.AgencyUID("1234567", ""), Email: "vanphong@hanoi.gov.vn"},
		profile.Officer:       {CommonName: "Trần Thị Bình", Organization: "UBND Thành phố Hà Nội", UID: profile.CitizenUID("001199054321")},
		profile.TLSServer:     {CommonName: "kyso.example.vn", Organization: "Kyso", DNSNames: []string{"kyso.example.vn"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}},
		profile.OCSPResponder: {CommonName: "Kyso OCSP Responder", Organization: "Kyso"},
		profile.TimeStamping:  {CommonName: "Kyso TSA", Organization: "Kyso"},
	}
	for _, spec := range profile.All() {
		for _, key := range []crypto.Signer{ecKey(t, elliptic.P256()), rsaKey} {
			t.Run(string(spec.Name), func(t *testing.T) {
				now := time.Now()
				p := profile.Params{
					Serial: big.NewInt(now.UnixNano()), NotBefore: now, NotAfter: now.Add(spec.DefaultValidity),
					CRLURL: "http://kyso.test/crl/citizen-1/3.crl", OCSPURL: "http://kyso.test/ocsp", CAIssuersURL: "http://kyso.test/ca/citizen-1.crt",
				}
				cert, err := spec.Render(csrFor(t, key), subjects[spec.Name], p)
				if err != nil {
					t.Fatal(err)
				}
				cert.AuthorityKeyId = h.issuing.SubjectKeyId
				if err := l.Check(cert, h.issuing); err != nil {
					t.Fatal(err)
				}
				der, err := x509.CreateCertificate(rand.Reader, cert, h.issuing, cert.PublicKey, h.issuingKey)
				if err != nil {
					t.Fatal(err)
				}
				got, err := x509.ParseCertificate(der)
				if err != nil {
					t.Fatal(err)
				}
				if err := l.CheckDER(der); err != nil {
					t.Fatalf("real certificate: %v", err)
				}
				checkProfile(t, spec.Name, got)
			})
		}
	}
}

func checkProfile(t *testing.T, n profile.Name, c *x509.Certificate) {
	t.Helper()
	switch n {
	case profile.Seal:
		// NSS (pdfsig, Firefox, Thunderbird) accepts a document signer only
		// with emailProtection besides document signing.
		if len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageEmailProtection {
			t.Errorf("seal eku %v", c.ExtKeyUsage)
		}
		if len(c.UnknownExtKeyUsage) != 1 || !c.UnknownExtKeyUsage[0].Equal(profile.OIDDocumentSigning) {
			t.Errorf("seal unknown eku %v", c.UnknownExtKeyUsage)
		}
		// The agency's email as an rfc822Name, and the organisation it
		// belongs to: what the visible stamp shows.
		if len(c.EmailAddresses) != 1 || c.EmailAddresses[0] != "vanphong@hanoi.gov.vn" || len(c.DNSNames)+len(c.IPAddresses)+len(c.URIs) != 0 {
			t.Errorf("seal SAN %v %v %v %v", c.EmailAddresses, c.DNSNames, c.IPAddresses, c.URIs)
		}
		if got := c.Subject.String(); got != "CN=UBND Thành phố Hà Nội,O=Thành phố Hà Nội,C=VN,0.9.2342.19200300.100.1.1=MNS:1234567" {
			t.Errorf("seal subject %q", got)
		}
	case profile.Citizen:
		if c.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment {
			t.Errorf("key usage %v", c.KeyUsage)
		}
		if len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageEmailProtection {
			t.Errorf("eku %v", c.ExtKeyUsage)
		}
		if len(c.UnknownExtKeyUsage) != 1 || !c.UnknownExtKeyUsage[0].Equal(profile.OIDDocumentSigning) {
			t.Errorf("unknown eku %v", c.UnknownExtKeyUsage)
		}
		if got := c.Subject.String(); got != "CN=Nguyễn Văn An,ST=Hà Nội,C=VN,0.9.2342.19200300.100.1.1=CCCD:001099012345" {
			t.Errorf("subject %q", got)
		}
		if len(c.CRLDistributionPoints) != 1 || c.CRLDistributionPoints[0] != "http://kyso.test/crl/citizen-1/3.crl" {
			t.Errorf("crldp %v", c.CRLDistributionPoints)
		}
		if len(c.OCSPServer) != 1 || len(c.IssuingCertificateURL) != 1 {
			t.Errorf("aia %v %v", c.OCSPServer, c.IssuingCertificateURL)
		}
		want := append(append(asn1.ObjectIdentifier{}, profile.DefaultPolicyArc...), 1)
		if len(c.PolicyIdentifiers) != 1 || !c.PolicyIdentifiers[0].Equal(want) {
			t.Errorf("policies %v", c.PolicyIdentifiers)
		}
	case profile.TimeStamping:
		found := false
		for _, e := range c.Extensions {
			if e.Id.Equal(profile.OIDExtKeyUsage) {
				found = e.Critical
			}
		}
		if !found || len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping {
			t.Errorf("time-stamping EKU must be critical and alone: %v", c.ExtKeyUsage)
		}
	case profile.OCSPResponder:
		found := false
		for _, e := range c.Extensions {
			if e.Id.Equal(profile.OIDOCSPNoCheck) && bytes.Equal(e.Value, []byte{5, 0}) {
				found = true
			}
		}
		if !found || len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageOCSPSigning {
			t.Errorf("responder: nocheck %v eku %v", found, c.ExtKeyUsage)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	cases := []struct {
		p   profile.Name
		sub profile.Subject
	}{
		{profile.Citizen, profile.Subject{CommonName: "A", UID: "CCCD:123"}},
		{profile.Citizen, profile.Subject{CommonName: "", UID: "CCCD:001099012345"}},
		{profile.Citizen, profile.Subject{CommonName: " padded", UID: "CCCD:001099012345"}},
		{profile.Citizen, profile.Subject{CommonName: "a\x00b", UID: "CCCD:001099012345"}},
		{profile.Seal, profile.Subject{CommonName: "X", Organization: "X", UID: "MNS:12"}},
		{profile.Seal, profile.Subject{CommonName: "X", UID: "MST:0101234567"}},
		{profile.Seal, profile.Subject{CommonName: "X", Organization: "X", UID: "MNS:1234567", Email: "Văn Phòng <vp@hanoi.gov.vn>"}},
		{profile.Seal, profile.Subject{CommonName: "X", Organization: "X", UID: "MNS:1234567", Email: "vp@localhost"}},
		{profile.Citizen, profile.Subject{CommonName: "A", UID: "CCCD:001099012345", Email: "a@example.vn"}},
		{profile.TLSServer, profile.Subject{CommonName: "x"}},
		{profile.TLSServer, profile.Subject{CommonName: "x", DNSNames: []string{"Bad_Name"}}},
	}
	for _, c := range cases {
		spec, _ := profile.Lookup(c.p)
		if err := spec.Validate(c.sub); !errors.Is(err, profile.ErrInvalidSubject) {
			t.Errorf("%s %+v: got %v", c.p, c.sub, err)
		}
	}
}

func TestCheckEmail(t *testing.T) {
	for _, ok := range []string{"vanphong@hanoi.gov.vn", "so.tu-phap+seal@xn--h-nam-9ua.vn", "a@b.vn"} {
		if err := profile.CheckEmail(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "vanphong", "@hanoi.gov.vn", "vanphong@", "vanphong@hanoi", "van phong@hanoi.gov.vn",
		"văn.phòng@hanoi.gov.vn", "vanphong@hànội.gov.vn", "vanphong@HANOI.gov.vn", "vp@[127.0.0.1]", "\"vp\"@hanoi.gov.vn",
		"vp..x@hanoi.gov.vn", ".vp@hanoi.gov.vn", "vp@hanoi.gov.vn ", "vp@-hanoi.gov.vn", "vp@hanoi.gov.vn\n",
		strings.Repeat("a", 65) + "@hanoi.gov.vn", "a@" + strings.Repeat("b.", 130) + "vn"} {
		if err := profile.CheckEmail(bad); !errors.Is(err, profile.ErrInvalidEmail) {
			t.Errorf("%q: got %v", bad, err)
		}
	}
}

func TestPolicies(t *testing.T) {
	arc := asn1.ObjectIdentifier{1, 2, 3}
	for _, tc := range []struct {
		issuer profile.Issuer
		want   []string
	}{
		{profile.CitizenCA, []string{"1.2.3.1", "1.2.3.5"}},
		{profile.AgencyCA, []string{"1.2.3.2", "1.2.3.3", "1.2.3.4", "1.2.3.5", "1.2.3.6"}},
	} {
		var got []string
		for _, p := range profile.Policies(tc.issuer, arc) {
			got = append(got, p.String())
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s: %v, want %v", tc.issuer, got, tc.want)
		}
	}
}
