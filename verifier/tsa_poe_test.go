package verifier

import (
	"crypto/x509"
	"testing"
	"time"

	"kyso/verifier/internal/testdoc"
	"kyso/verifier/report"
)

// Time-stamps are validated like signatures and give a proof of existence
// only when their TSA certificate is valid and unrevoked at the time they
// are judged (their own proof of existence, else now). Each case signs
// with a certificate that expired long ago, so only a valid time-stamp can
// keep the signature from OUT_OF_BOUNDS_NO_POE.
func TestTimeStampProofOfExistence(t *testing.T) {
	fx := newFixture(t)
	signAt := testdoc.Base.AddDate(0, 5, 0)
	archiveAt := testdoc.Base.AddDate(0, 11, 0)
	// sign makes a PAdES B-LT signature at signAt by a signer valid for
	// one month, time-stamped by tsa, with the signer's and the TSA's
	// status as of one minute later in the DSS.
	sign := func(t *testing.T, tsa testdoc.Key) []byte {
		t.Helper()
		signer := fx.pki.Issue(t, testdoc.Profile{CN: "Short-lived Signer", NotBefore: signAt.AddDate(0, 0, -1), NotAfter: signAt.AddDate(0, 1, 0)})
		saved := fx.pki.TSA
		defer func() { fx.pki.TSA, fx.pki.TSATime = saved, nil }()
		fx.pki.TSA = tsa
		fx.pki.TSATime = func() time.Time { return signAt }
		doc := fx.pki.Sign(t, fx.plain, testdoc.SignOptions{Signer: signer, TSA: true, Date: signAt})
		at := signAt.Add(time.Minute)
		return testdoc.AddDSS(t, doc, []*x509.Certificate{tsa.Cert}, [][]byte{fx.pki.OCSP(t, signer.Cert, at), fx.pki.OCSP(t, tsa.Cert, at)}, nil)
	}
	archive := func(t *testing.T, doc []byte) []byte {
		t.Helper()
		fx.pki.TSATime = func() time.Time { return archiveAt }
		defer func() { fx.pki.TSATime = nil }()
		return fx.pki.DocTimeStamp(t, doc)
	}
	var checkWith func(t *testing.T, v *Verifier, doc []byte, want report.Indication, sub report.SubIndication, tsSub report.SubIndication)
	tsaUntil := func(cn string, notAfter time.Time) testdoc.Key {
		return fx.pki.Issue(t, testdoc.Profile{CN: cn, EKU: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}, NotAfter: notAfter})
	}
	// TSA certificates expire a year from now (the time-stamp library
	// refuses to make tokens with an expired TSA), and are judged two years
	// from now.
	inTwoYears := New(Options{Roots: []*x509.Certificate{fx.pki.Root.Cert}, At: time.Now().AddDate(2, 0, 0), Revocation: fx.online.opts.Revocation})
	check := func(t *testing.T, doc []byte, want report.Indication, sub report.SubIndication, tsSub report.SubIndication) {
		t.Helper()
		checkWith(t, fx.online, doc, want, sub, tsSub)
	}
	checkWith = func(t *testing.T, v *Verifier, doc []byte, want report.Indication, sub report.SubIndication, tsSub report.SubIndication) {
		t.Helper()
		rep := verify(t, v, doc)
		s := rep.Signatures[0]
		if rep.Status.MainIndication != want || rep.Status.SubIndication != sub || len(s.TimeStamps) != 1 || s.TimeStamps[0].Status.SubIndication != tsSub {
			dump(t, rep)
			t.Fatalf("got %s/%s, want %s/%s with a %q time-stamp", rep.Status.MainIndication, rep.Status.SubIndication, want, sub, tsSub)
		}
	}

	t.Run("valid TSA proves the signing time", func(t *testing.T) {
		check(t, sign(t, fx.pki.TSA), report.TotalPassed, "", "")
	})
	t.Run("TSA revoked the day before", func(t *testing.T) {
		tsa := tsaUntil("Revoked TSA", testdoc.Base.AddDate(10, 0, 0))
		fx.pki.Revoke(tsa.Cert, signAt.AddDate(0, 0, -1))
		check(t, sign(t, tsa), report.Indeterminate, report.OutOfBoundsNoPOE, report.Revoked)
	})
	t.Run("TSA revoked after the time-stamp, no archive time-stamp", func(t *testing.T) {
		tsa := tsaUntil("Later Revoked TSA", testdoc.Base.AddDate(10, 0, 0))
		fx.pki.Revoke(tsa.Cert, archiveAt.AddDate(0, 1, 0))
		check(t, sign(t, tsa), report.Indeterminate, report.OutOfBoundsNoPOE, report.RevokedNoPOE)
	})
	t.Run("TSA revoked after an archive time-stamp covered it", func(t *testing.T) {
		tsa := tsaUntil("Later Revoked TSA 2", testdoc.Base.AddDate(10, 0, 0))
		fx.pki.Revoke(tsa.Cert, archiveAt.AddDate(0, 1, 0))
		check(t, archive(t, sign(t, tsa)), report.TotalPassed, "", "")
	})
	t.Run("TSA expired months ago, no archive time-stamp", func(t *testing.T) {
		tsa := tsaUntil("Expired TSA", time.Now().AddDate(1, 0, 0))
		checkWith(t, inTwoYears, sign(t, tsa), report.Indeterminate, report.OutOfBoundsNoPOE, report.OutOfBoundsNoPOE)
	})
	t.Run("TSA expired after an archive time-stamp covered it", func(t *testing.T) {
		tsa := tsaUntil("Expired TSA 2", time.Now().AddDate(1, 0, 0))
		checkWith(t, inTwoYears, archive(t, sign(t, tsa)), report.TotalPassed, "", "")
	})
	t.Run("TSA certificate without a critical timeStamping EKU", func(t *testing.T) {
		tsa := fx.pki.Issue(t, testdoc.Profile{CN: "Lax TSA", EKU: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}, NonCriticalEKU: true})
		check(t, sign(t, tsa), report.Indeterminate, report.OutOfBoundsNoPOE, report.ChainConstraintsFailure)
	})
}
