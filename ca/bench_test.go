package ca_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha512"
	"testing"

	"golang.org/x/crypto/ocsp"

	"kyso/ca"
	"kyso/ca/ocspresp"
	"kyso/ca/profile"
	"kyso/store/storetest"
)

// BenchmarkIssueCertificate measures one citizen certificate end to end:
// template, lint with a throwaway key, HSM signature through the embedded
// smallstep authority, durable store and the pre-signed OCSP response.
// Compare with BenchmarkIssuingKeySign for the share of the HSM signature.
func BenchmarkIssueCertificate(b *testing.B) {
	e := setup(b, storetest.SQLite(b), "")
	ctx := context.Background()
	csr, _ := newCSR(b)
	sub := profile.Subject{CommonName: "Nguyễn Văn Bench", Province: "Hà Nội", UID: profile.CitizenUID("001099012345")}
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.ca.Issue(ctx, ca.IssueRequest{Profile: profile.Citizen, Subject: sub, SubjectID: "001099012345", CSR: csr}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIssuingKeySign is the raw HSM signature of the citizen issuing
// CA's key over a SHA-384 digest.
func BenchmarkIssuingKeySign(b *testing.B) {
	e := setup(b, storetest.SQLite(b), "")
	_, key := e.ca.CitizenIssuer()
	digest := sha512.Sum384([]byte("tbsCertificate"))
	b.ResetTimer()
	for b.Loop() {
		if _, err := key.Sign(rand.Reader, digest[:], crypto.SHA384); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOCSPLookup is a look-up answered from the pre-signed response
// (SHA-1 CertID, no nonce): parse the request, find the issuer, read one
// row by primary key; no signature.
func BenchmarkOCSPLookup(b *testing.B) {
	e := setup(b, storetest.SQLite(b), "")
	ctx := context.Background()
	csr, _ := newCSR(b)
	iss, err := e.ca.Issue(ctx, ca.IssueRequest{Profile: profile.Citizen, SubjectID: "001099012345", CSR: csr,
		Subject: profile.Subject{CommonName: "Nguyễn Văn Bench", UID: profile.CitizenUID("001099012345")}})
	if err != nil {
		b.Fatal(err)
	}
	der, err := ocsp.CreateRequest(iss.Certificate, iss.Chain[0], nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		req, err := ocspresp.ParseRequest(der)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.ca.Respond(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
