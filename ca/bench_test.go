package ca_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha512"
	"testing"

	"kyso/ca"
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
