package revocation_test

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	"kyso/ca/crl"
	"kyso/verifier/revocation"
)

// Evidence dated after the current time cannot have been issued yet: a
// CRL of the right issuer and shard with thisUpdate a year ahead, or an
// OCSP response produced a year ahead, is refused instead of counting as
// the freshest "good"; evidence within the clock skew still counts.
func TestEvidenceFromTheFuture(t *testing.T) {
	ca := newIssuer(t)
	leaf := ca.issue(t, &x509.Certificate{SerialNumber: big.NewInt(64), Subject: pkix.Name{CommonName: "Signer"}, CRLDistributionPoints: []string{shard0}}).cert
	now := t0
	chk := revocation.New(revocation.Config{Offline: true, Now: func() time.Time { return now }})
	year := now.AddDate(1, 0, 0)
	for _, tc := range []struct {
		name   string
		ev     revocation.Evidence
		want   revocation.Status
		detail string
	}{
		{"CRL a year ahead", revocation.Evidence{CRLs: [][]byte{ca.shardCRL(t, shard0, year)}}, revocation.Unknown, "after the current time"},
		{"OCSP a year ahead", revocation.Evidence{OCSP: [][]byte{kysoOCSP(t, ca, ca.cert, leaf, year, nil)}}, revocation.Unknown, "after the current time"},
		{"CRL a year ahead beside a revocation", revocation.Evidence{CRLs: [][]byte{ca.shardCRL(t, shard0, year), ca.shardCRL(t, shard0, now, crl.Entry{Serial: leaf.SerialNumber, RevokedAt: now.Add(-time.Hour), Reason: 1})}}, revocation.Revoked, ""},
		{"CRL within the clock skew", revocation.Evidence{CRLs: [][]byte{ca.shardCRL(t, shard0, now.Add(time.Minute))}}, revocation.Good, ""},
		{"OCSP within the clock skew", revocation.Evidence{OCSP: [][]byte{kysoOCSP(t, ca, ca.cert, leaf, now.Add(time.Minute), nil)}}, revocation.Good, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := chk.Check(context.Background(), leaf, ca.cert, now, []revocation.Evidence{tc.ev})
			if r.Status != tc.want || !strings.Contains(r.Detail, tc.detail) {
				t.Fatalf("got %+v, want %s with %q", r, tc.want, tc.detail)
			}
		})
	}
	// The skew is a setting.
	strict := revocation.New(revocation.Config{Offline: true, Now: func() time.Time { return now }, ClockSkew: time.Second})
	if r := strict.Check(context.Background(), leaf, ca.cert, now, []revocation.Evidence{{CRLs: [][]byte{ca.shardCRL(t, shard0, now.Add(time.Minute))}}}); r.Status != revocation.Unknown {
		t.Fatalf("one-second skew: %+v", r)
	}
}
