package ca_test

import (
	"context"
	"crypto"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/ocsp"

	"kyso/audit"
	"kyso/auth"
	"kyso/ca"
	"kyso/ca/ocspresp"
	"kyso/ca/profile"
	"kyso/credential"
	"kyso/hsm"
	"kyso/problem"
	"kyso/store"
	"kyso/store/storetest"
)

// failingAuditor appends through the real log, except that the event
// whose action is failOn fails inside the transaction.
type failingAuditor struct {
	log    *audit.Log
	failOn string
}

var errAuditDown = errors.New("audit log unavailable")

func (f *failingAuditor) AppendTx(ctx context.Context, tx *sql.Tx, ev audit.Event) error {
	if ev.Action == f.failOn {
		return errAuditDown
	}
	return f.log.AppendTx(ctx, tx, ev)
}

// withAuditor loads a second CA over e's store whose audit appends fail
// for the action failOn.
func withAuditor(t *testing.T, e *env, failOn string) *ca.CA {
	t.Helper()
	var keys *credential.Keys
	if e.citizen != nil {
		keys = credential.NewKeys(credential.NewStore(e.db), e.citizen, "")
	}
	c, err := ca.Load(context.Background(), e.db, e.h, ca.Config{BaseURL: e.cfg.BaseURL, CRLShards: e.cfg.CRLShards,
		Audit: &failingAuditor{log: e.audit, failOn: failOn}, Replay: auth.NewReplayGuard(e.db), CitizenKeys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func count(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// actions returns the audited actions on an object, oldest first.
func actions(t *testing.T, e *env, object string) []string {
	t.Helper()
	entries, err := e.audit.List(context.Background(), audit.Filter{Object: object})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, en := range entries {
		out = append(out, en.Action)
	}
	return out
}

// requireInternal checks that err is an internal error (a 500 without
// detail), not a problem a client is shown.
func requireInternal(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded with a failing audit log", what)
	}
	var pe *problem.Error
	if errors.As(err, &pe) {
		t.Fatalf("%s: %v is a client-visible problem", what, err)
	}
}

// snapshot counts the rows a state change writes.
type snapshot struct{ certs, creds, events int }

func snap(t *testing.T, db *store.DB) snapshot {
	return snapshot{count(t, db, "ca_certificates"), count(t, db, "credentials"), count(t, db, "audit_pending")}
}

// remoteKeys lists the citizens' private keys on the tokens: none ever,
// since they are kept wrapped.
func remoteKeys(t *testing.T, e *env) []string {
	t.Helper()
	var out []string
	for _, h := range []*hsm.HSM{e.h, e.citizen} {
		if h == nil {
			continue
		}
		keys, err := h.ListKeys(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if strings.HasPrefix(k.Label, "cred-") || h == e.citizen {
				out = append(out, k.Label)
			}
		}
	}
	return out
}

func citizenRequest(t *testing.T, id string) ca.IssueRequest {
	csr, _ := newCSR(t)
	return ca.IssueRequest{Profile: profile.Citizen, SubjectID: id, CSR: csr,
		Subject: profile.Subject{CommonName: "Lê Thị Hoa", Province: "Đà Nẵng", UID: profile.CitizenUID(id)}}
}

func TestIssueAuditAtomic(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db, "")
		ctx := context.Background()
		before := snap(t, db)
		iss, err := e.ca.Issue(ctx, citizenRequest(t, "001099012345"))
		if err != nil {
			t.Fatal(err)
		}
		if got := actions(t, e, "certificate:"+iss.Serial); len(got) != 1 || got[0] != "ca.certificate.issue" {
			t.Fatalf("audited %v", got)
		}
		if after := snap(t, db); after != (snapshot{before.certs + 1, before.creds, before.events + 1}) {
			t.Fatalf("rows %+v, then %+v", before, after)
		}

		// The audit append fails inside the transaction: no certificate.
		failing := withAuditor(t, e, "ca.certificate.issue")
		before = snap(t, db)
		_, err = failing.Issue(ctx, citizenRequest(t, "001099012345"))
		requireInternal(t, "issue", err)
		if after := snap(t, db); after != before {
			t.Fatalf("failed issuance left rows: %+v, then %+v", before, after)
		}

		// The real log failing (its table gone) fails issuance the same way.
		if _, err := db.ExecContext(ctx, `DROP TABLE audit_pending`); err != nil {
			t.Fatal(err)
		}
		certs := count(t, db, "ca_certificates")
		_, err = e.ca.Issue(ctx, citizenRequest(t, "001099012345"))
		requireInternal(t, "issue without audit table", err)
		if n := count(t, db, "ca_certificates"); n != certs {
			t.Fatalf("certificates %d, then %d", certs, n)
		}
	})
}

func TestEnrollAuditAtomic(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := enrollEnv(t, db)
		ctx := context.Background()
		jti := 0
		next := func() *auth.Principal {
			jti++
			return citizen("001099012345", "atomic-"+string(rune('a'+jti)))
		}

		// Each failure point rolls back everything, and the HSM key goes.
		for _, tc := range []struct {
			failOn string
			req    ca.EnrollRequest
		}{
			{"ca.certificate.issue", ca.EnrollRequest{Key: "remote", PIN: "246810"}},
			{"credential.create", ca.EnrollRequest{Key: "remote", PIN: "246810"}},
			{"ca.certificate.issue", ca.EnrollRequest{CSR: b64(func() []byte { c, _ := newCSR(t); return c.Raw }())}},
		} {
			failing := withAuditor(t, e, tc.failOn)
			before := snap(t, db)
			en, err := failing.Enroll(ctx, next(), tc.req)
			requireInternal(t, "enroll failing "+tc.failOn, err)
			if en != nil {
				t.Fatalf("enroll failing %s returned %+v", tc.failOn, en)
			}
			if after := snap(t, db); after != before {
				t.Fatalf("enroll failing %s left rows: %+v, then %+v", tc.failOn, before, after)
			}
			if keys := remoteKeys(t, e); len(keys) != 0 {
				t.Fatalf("enroll failing %s left keys %v", tc.failOn, keys)
			}
		}

		// Success writes exactly the certificate's and the credential's
		// events, with the rows.
		before := snap(t, db)
		en, err := e.ca.Enroll(ctx, next(), ca.EnrollRequest{Key: "remote", PIN: "246810"})
		if err != nil {
			t.Fatal(err)
		}
		if after := snap(t, db); after != (snapshot{before.certs + 1, before.creds + 1, before.events + 2}) {
			t.Fatalf("rows %+v, then %+v", before, after)
		}
		if got := actions(t, e, "certificate:"+en.Serial); len(got) != 1 || got[0] != "ca.certificate.issue" {
			t.Fatalf("certificate events %v", got)
		}
		if got := actions(t, e, "credential:"+en.CredentialID); len(got) != 1 || got[0] != "credential.create" {
			t.Fatalf("credential events %v", got)
		}
		// The key is in the credential, wrapped; no token holds it.
		if keys := remoteKeys(t, e); len(keys) != 0 {
			t.Fatalf("remote keys on the tokens %v", keys)
		}
		if cr, err := e.ca.Credentials().Get(ctx, en.CredentialID); err != nil || len(cr.Wrapped) == 0 {
			t.Fatalf("credential without a wrapped key: %v", err)
		}
	})
}

func TestStatusChangeAuditAtomic(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := enrollEnv(t, db)
		ctx := context.Background()
		en, err := e.ca.Enroll(ctx, citizen("001099012345", "status-1"), ca.EnrollRequest{Key: "remote", PIN: "246810"})
		if err != nil {
			t.Fatal(err)
		}
		officer := &auth.Principal{Role: auth.RoleOfficer, Subject: "officer-1"}
		ocspStatus := func() int {
			t.Helper()
			der, err := e.ca.OCSPResponse(ctx, en.Certificate)
			if err != nil {
				t.Fatal(err)
			}
			r, err := ocsp.ParseResponseForCert(der, en.Certificate, en.Chain[0])
			if err != nil {
				t.Fatal(err)
			}
			return r.Status
		}
		check := func(what, status, credStatus string, ocspWant int) {
			t.Helper()
			info, err := e.ca.Get(ctx, en.Serial)
			if err != nil {
				t.Fatal(err)
			}
			cr, err := e.ca.Credentials().Get(ctx, en.CredentialID)
			if err != nil {
				t.Fatal(err)
			}
			if info.Status != status || cr.Status != credStatus {
				t.Fatalf("%s: certificate %s, credential %s; want %s, %s", what, info.Status, cr.Status, status, credStatus)
			}
			if s := ocspStatus(); s != ocspWant {
				t.Fatalf("%s: OCSP status %d, want %d", what, s, ocspWant)
			}
		}
		events := func() []string { return actions(t, e, "certificate:"+en.Serial) }
		n := len(events())

		// A failing audit leaves the certificate as it was.
		_, err = withAuditor(t, e, "ca.certificate.revoke").Revoke(ctx, en.Serial, "keyCompromise", officer)
		requireInternal(t, "revoke", err)
		check("failed revoke", ca.StatusValid, "active", ocsp.Good)
		_, err = withAuditor(t, e, "ca.certificate.hold").Revoke(ctx, en.Serial, "certificateHold", officer)
		requireInternal(t, "hold", err)
		check("failed hold", ca.StatusValid, "active", ocsp.Good)
		if got := len(events()); got != n {
			t.Fatalf("failed changes were audited: %v", events())
		}

		if _, err := e.ca.Revoke(ctx, en.Serial, "certificateHold", officer); err != nil {
			t.Fatal(err)
		}
		check("hold", ca.StatusHold, "suspended", ocsp.Revoked)
		_, err = withAuditor(t, e, "ca.certificate.release").Release(ctx, en.Serial, officer)
		requireInternal(t, "release", err)
		check("failed release", ca.StatusHold, "suspended", ocsp.Revoked)
		if _, err := e.ca.Release(ctx, en.Serial, officer); err != nil {
			t.Fatal(err)
		}
		check("release", ca.StatusValid, "active", ocsp.Good)
		if _, err := e.ca.Revoke(ctx, en.Serial, "keyCompromise", officer); err != nil {
			t.Fatal(err)
		}
		check("revoke", ca.StatusRevoked, "revoked", ocsp.Revoked)
		want := []string{"ca.certificate.hold", "ca.certificate.release", "ca.certificate.revoke"}
		if got := events()[n:]; strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("events %v, want %v", got, want)
		}
	})
}

// TestOCSPWithoutPresignedResponse shows that the pre-signed response is a
// cache: when it is missing (its signing after commit failed, or it was
// dropped by a status change), look-ups sign on demand with the stored
// status.
func TestOCSPWithoutPresignedResponse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db, "")
		ctx := context.Background()
		iss := citizenCert(t, e, "001099012345")
		issuer := iss.Chain[0]
		drop := func() {
			t.Helper()
			if _, err := db.ExecContext(ctx, `DELETE FROM ca_ocsp WHERE serial = $1`, iss.Serial); err != nil {
				t.Fatal(err)
			}
		}
		lookUp := func(h crypto.Hash) *ocsp.Response {
			t.Helper()
			der, err := ocsp.CreateRequest(iss.Certificate, issuer, &ocsp.RequestOptions{Hash: h})
			if err != nil {
				t.Fatal(err)
			}
			req, err := ocspresp.ParseRequest(der)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := e.ca.Respond(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			r, err := ocsp.ParseResponseForCert(resp, iss.Certificate, issuer)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		forSigner := func() *ocsp.Response {
			t.Helper()
			der, err := e.ca.OCSPResponse(ctx, iss.Certificate)
			if err != nil {
				t.Fatal(err)
			}
			r, err := ocsp.ParseResponseForCert(der, iss.Certificate, issuer)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		if n := count(t, db, "ca_ocsp WHERE serial = '"+iss.Serial+"'"); n != 1 {
			t.Fatalf("no pre-signed response after issuance (%d)", n)
		}
		for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
			drop()
			if r := lookUp(h); r.Status != ocsp.Good || r.SerialNumber.Cmp(iss.Certificate.SerialNumber) != 0 {
				t.Fatalf("hash %v: status %d serial %v", h, r.Status, r.SerialNumber)
			}
		}
		drop()
		if r := forSigner(); r.Status != ocsp.Good {
			t.Fatalf("signer's response: status %d", r.Status)
		}
		officer := &auth.Principal{Role: auth.RoleOfficer, Subject: "officer-1"}
		if _, err := e.ca.Revoke(ctx, iss.Serial, "keyCompromise", officer); err != nil {
			t.Fatal(err)
		}
		for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
			drop()
			r := lookUp(h)
			if r.Status != ocsp.Revoked || r.RevocationReason != ocsp.KeyCompromise {
				t.Fatalf("hash %v after revocation: status %d reason %d", h, r.Status, r.RevocationReason)
			}
		}
		drop()
		if r := forSigner(); r.Status != ocsp.Revoked {
			t.Fatalf("signer's response after revocation: status %d", r.Status)
		}
		// The SHA-1 look-up stored a fresh pre-signed response again.
		lookUp(crypto.SHA1)
		if n := count(t, db, "ca_ocsp WHERE serial = '"+iss.Serial+"'"); n != 1 {
			t.Fatalf("pre-signed responses after a look-up: %d", n)
		}
	})
}
