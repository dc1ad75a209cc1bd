package ca_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"kyso/auth"
	"kyso/ca"
	"kyso/credential"
	"kyso/hsm"
	"kyso/hsm/hsmtest"
	"kyso/problem"
	"kyso/store"
	"kyso/store/storetest"
)

func citizen(id, jti string) *auth.Principal {
	return &auth.Principal{Role: auth.RoleCitizen, Subject: id, Name: "Phạm Minh Châu", Assertion: &auth.Assertion{
		JTI: jti, Subject: id, Name: "Phạm Minh Châu", Province: "Hà Nội", LoA: "substantial", IssuedAt: time.Now(), Expiry: time.Now().Add(5 * time.Minute),
	}}
}

func enrollEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	e := setup(t, db, "")
	ctx := context.Background()
	if _, err := auth.NewPrincipals(ctx, db); err != nil {
		t.Fatal(err)
	}
	e.citizen = hsmtest.New(t)
	keys := credential.NewKeys(credential.NewStore(db), e.citizen, "")
	if _, err := keys.EnsureSecret(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := ca.Load(ctx, db, e.h, ca.Config{BaseURL: e.cfg.BaseURL, CRLShards: e.cfg.CRLShards, Audit: e.audit, Replay: auth.NewReplayGuard(db), MaxIssuancePerDay: 3,
		CitizenKeys: keys})
	if err != nil {
		t.Fatal(err)
	}
	e.ca = c
	return e
}

func TestEnrollRemoteAndCSR(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := enrollEnv(t, db)
		ctx := context.Background()
		p := citizen("001099012345", "jti-1")
		forged := "Verified by Ministry of Public Security, signing for UBND Ha Noi"
		_, err := e.ca.Enroll(ctx, citizen("001099012345", "jti-0"), ca.EnrollRequest{Key: "remote", PIN: "246810", Province: &forged})
		if pr, ok := problem.As(err); !ok || pr.Status != 400 || pr.Code != "subject-attribute-not-requestable" {
			t.Fatalf("province in the request: %v", err)
		}
		en, err := e.ca.Enroll(ctx, p, ca.EnrollRequest{Key: "remote", PIN: "246810"})
		if err != nil {
			t.Fatal(err)
		}
		if en.CredentialID == "" || en.Certificate.Subject.CommonName != "Phạm Minh Châu" {
			t.Fatalf("enrollment %+v", en)
		}
		// ST is the verified place of residence carried by the assertion.
		if st := en.Certificate.Subject.Province; len(st) != 1 || st[0] != "Hà Nội" {
			t.Fatalf("ST %v", st)
		}
		// The same assertion cannot be used twice.
		if _, err := e.ca.Enroll(ctx, p, ca.EnrollRequest{Key: "remote", PIN: "246810"}); !errors.Is(err, auth.ErrReplayed) && !errors.Is(err, ca.ErrCredentialTaken) {
			t.Fatalf("replay: %v", err)
		}
		// One active remote credential per citizen and profile.
		if _, err := e.ca.Enroll(ctx, citizen("001099012345", "jti-2"), ca.EnrollRequest{Key: "remote", PIN: "246810"}); !errors.Is(err, ca.ErrCredentialTaken) {
			t.Fatalf("second remote: %v", err)
		}
		cr, key, err := e.ca.RemoteKey(ctx, en.CredentialID, "246810")
		if err != nil {
			t.Fatal(err)
		}
		if cr.CertSerial != en.Serial || key.Public() == nil {
			t.Fatalf("credential %+v", cr)
		}
		if _, _, err := e.ca.RemoteKey(ctx, en.CredentialID, "000000"); !errors.Is(err, credential.ErrWrongPIN) {
			t.Fatalf("wrong pin: %v", err)
		}
		// The certificate certifies the HSM key.
		pub, _ := x509.MarshalPKIXPublicKey(key.Public())
		if string(pub) != string(en.Certificate.RawSubjectPublicKeyInfo) {
			t.Fatal("certificate does not certify the HSM key")
		}
		// The key is kept wrapped: no token holds it.
		for _, h := range []*hsm.HSM{e.h, e.citizen} {
			if _, err := h.FindKey(ctx, credential.KeyLabel(en.CredentialID)); !errors.Is(err, hsm.ErrKeyNotFound) {
				t.Fatalf("token object for the citizen's key: %v", err)
			}
		}
		// A CSR from the citizen's own device, PEM and base64 DER.
		csr, _ := newCSR(t)
		pemCSR := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw}))
		en2, err := e.ca.Enroll(ctx, citizen("001099012345", "jti-3"), ca.EnrollRequest{CSR: pemCSR})
		if err != nil {
			t.Fatal(err)
		}
		if en2.CredentialID != "" {
			t.Fatal("CSR issuance made a credential")
		}
		// One valid certificate per profile for a key of the citizen's own,
		// as for remote keys: a second CSR waits for the first's revocation.
		if _, err := e.ca.Enroll(ctx, citizen("001099012345", "jti-4"), ca.EnrollRequest{CSR: base64.StdEncoding.EncodeToString(csr.Raw)}); !errors.Is(err, ca.ErrCertificateHeld) {
			t.Fatalf("second CSR certificate: %v", err)
		}
		if _, err := e.ca.Revoke(ctx, en2.Serial, "superseded", citizen("001099012345", "")); err != nil {
			t.Fatal(err)
		}
		if _, err := e.ca.Enroll(ctx, citizen("001099012345", "jti-4b"), ca.EnrollRequest{CSR: base64.StdEncoding.EncodeToString(csr.Raw)}); err != nil {
			t.Fatal(err)
		}
		// Rate limit: 3 per day.
		if _, err := e.ca.Enroll(ctx, citizen("001099012346", "jti-5"), ca.EnrollRequest{CSR: pemCSR}); err != nil {
			t.Fatalf("another citizen: %v", err)
		}
		if _, err := e.ca.Enroll(ctx, citizen("001099012345", "jti-6"), ca.EnrollRequest{CSR: pemCSR}); !errors.Is(err, ca.ErrRateLimited) {
			t.Fatalf("rate limit: %v", err)
		}
		// Revoking the certificate revokes the credential; a new one may follow.
		if _, err := e.ca.Revoke(ctx, en.Serial, "superseded", citizen("001099012345", "")); err != nil {
			t.Fatal(err)
		}
		cr, _ = e.ca.Credentials().Get(ctx, en.CredentialID)
		if cr.Status != credential.StatusRevoked {
			t.Fatalf("credential status %s", cr.Status)
		}
		// Revocation destroyed the key material, with an audit event.
		if len(cr.Wrapped) != 0 || cr.KDF != "" || cr.KeyDestroyedAt.IsZero() {
			t.Fatalf("revoked credential keeps its key: %d bytes wrapped, kdf %q", len(cr.Wrapped), cr.KDF)
		}
		if _, _, err := e.ca.RemoteKey(ctx, en.CredentialID, "246810"); err == nil {
			t.Fatal("a revoked credential's key opened")
		}
		var destroyEvents int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_pending WHERE action = 'credential.destroy' AND object = $1`, "credential:"+en.CredentialID).Scan(&destroyEvents); err != nil {
			t.Fatal(err)
		}
		if destroyEvents != 1 {
			t.Fatalf("%d credential.destroy audit events", destroyEvents)
		}
	})
}

func TestEnrollRejects(t *testing.T) {
	e := enrollEnv(t, storetest.SQLite(t))
	ctx := context.Background()
	cases := []struct {
		name string
		p    *auth.Principal
		req  ca.EnrollRequest
	}{
		{"no assertion", &auth.Principal{Role: auth.RoleCitizen, Subject: "001099012345"}, ca.EnrollRequest{Key: "remote", PIN: "246810"}},
		{"officer", &auth.Principal{Role: auth.RoleOfficer, Subject: "o"}, ca.EnrollRequest{Key: "remote", PIN: "246810"}},
		{"short pin", citizen("001099012345", "a"), ca.EnrollRequest{Key: "remote", PIN: "12"}},
		{"both", citizen("001099012345", "b"), ca.EnrollRequest{Key: "remote", PIN: "246810", CSR: "x"}},
		{"neither", citizen("001099012345", "c"), ca.EnrollRequest{}},
		{"bad csr", citizen("001099012345", "d"), ca.EnrollRequest{CSR: "not a csr"}},
		{"private profile", citizen("001099012345", "e"), ca.EnrollRequest{Key: "remote", PIN: "246810", Profile: "seal"}},
	}
	for _, tc := range cases {
		if _, err := e.ca.Enroll(ctx, tc.p, tc.req); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	// Nothing was left in the HSM by refused requests.
	keys, err := e.h.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if len(k.Label) > 5 && k.Label[:5] == "cred-" {
			t.Errorf("left-over key %s", k.Label)
		}
	}
	_ = hsm.ECP256
}

// When a citizen's certificate expires, the CA's background work destroys
// the key material, each credential in one transaction with its audit
// event; nothing opens it afterwards.
func TestExpiredCredentialsLoseTheirKeys(t *testing.T) {
	e := enrollEnv(t, storetest.SQLite(t))
	ctx := context.Background()
	en, err := e.ca.Enroll(ctx, citizen("001099012345", "expiry-1"), ca.EnrollRequest{Key: "remote", PIN: "246810"})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e.ca.DestroyExpiredKeys(ctx); err != nil || n != 0 {
		t.Fatalf("DestroyExpiredKeys before expiry = %d, %v", n, err)
	}
	later := en.Certificate.NotAfter.Add(time.Hour)
	keys := credential.NewKeys(credential.NewStore(e.db), e.citizen, "")
	c, err := ca.Load(ctx, e.db, e.h, ca.Config{BaseURL: e.cfg.BaseURL, CRLShards: e.cfg.CRLShards, Audit: e.audit, CitizenKeys: keys,
		Now: func() time.Time { return later }})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.RemoteKey(ctx, en.CredentialID, "246810"); !errors.Is(err, credential.ErrCertificateExpired) {
		t.Fatalf("key of an expired certificate: %v, want ErrCertificateExpired", err)
	}
	if n, err := c.DestroyExpiredKeys(ctx); err != nil || n != 1 {
		t.Fatalf("DestroyExpiredKeys = %d, %v", n, err)
	}
	if n, err := c.DestroyExpiredKeys(ctx); err != nil || n != 0 {
		t.Fatalf("second DestroyExpiredKeys = %d, %v", n, err)
	}
	cr, err := c.Credentials().Get(ctx, en.CredentialID)
	if err != nil {
		t.Fatal(err)
	}
	if len(cr.Wrapped) != 0 || cr.KDF != "" || cr.KeyDestroyedAt.IsZero() {
		t.Fatalf("expired credential keeps %d wrapped bytes", len(cr.Wrapped))
	}
	var n int
	if err := e.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_pending WHERE action = 'credential.destroy' AND object = $1`, "credential:"+en.CredentialID).Scan(&n); err != nil || n != 1 {
		t.Fatalf("credential.destroy events %d, %v", n, err)
	}
}

// Concurrent enrolments of one citizen are counted inside the issuance
// transaction: of eight simultaneous CSR enrolments (limit three a day,
// one valid CSR certificate per profile) exactly one is issued.
func TestConcurrentEnrolmentsRespectLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := enrollEnv(t, db)
		ctx := context.Background()
		csr, _ := newCSR(t)
		pemCSR := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw}))
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = e.ca.Enroll(ctx, citizen("001099077777", fmt.Sprintf("jti-c%d", i)), ca.EnrollRequest{CSR: pemCSR})
			}()
		}
		wg.Wait()
		issued := 0
		for _, err := range errs {
			switch {
			case err == nil:
				issued++
			case errors.Is(err, ca.ErrCertificateHeld), errors.Is(err, ca.ErrRateLimited):
			default:
				t.Fatalf("unexpected %v", err)
			}
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM ca_certificates WHERE subject_id = '001099077777'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if issued != 1 || n != 1 {
			t.Fatalf("%d enrolments succeeded, %d certificates stored", issued, n)
		}
	})
}

// Proof of possession: a CSR whose signature does not verify under the
// key it certifies (someone else's public key pasted into a request) is
// refused before anything is issued.
func TestEnrolCSRProofOfPossession(t *testing.T) {
	e := enrollEnv(t, storetest.SQLite(t))
	ctx := context.Background()
	csr, _ := newCSR(t)
	der := append([]byte(nil), csr.Raw...)
	der[len(der)-2] ^= 0x01 // inside the signature
	_, err := e.ca.Enroll(ctx, citizen("001099088888", "jti-pop"), ca.EnrollRequest{CSR: base64.StdEncoding.EncodeToString(der)})
	if pr, ok := problem.As(err); !ok || pr.Status != 400 || pr.Code != "bad-csr" {
		t.Fatalf("tampered CSR: %v", err)
	}
	var n int
	if err := e.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM ca_certificates WHERE subject_id = '001099088888'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d certificates (%v)", n, err)
	}
}

// TestEnrollNeedsAssurance: an identity whose level of assurance is below
// the table's (a VNeID level 1 account: "low") enrols nothing, remote or
// CSR; the refusal happens before the assertion is consumed.
func TestEnrollNeedsAssurance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := enrollEnv(t, db)
		ctx := context.Background()
		for _, loa := range []string{"low", ""} {
			p := citizen("001099012345", "jti-low-"+loa)
			p.Assertion.LoA = loa
			if _, err := e.ca.Enroll(ctx, p, ca.EnrollRequest{Key: "remote", PIN: "246810"}); !errors.Is(err, auth.ErrInsufficientAssurance) {
				t.Errorf("remote enrolment at LoA %q: %v", loa, err)
			}
		}
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
		p := citizen("001099012345", "jti-low-csr")
		p.Assertion.LoA = "low"
		if _, err := e.ca.Enroll(ctx, p, ca.EnrollRequest{CSR: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))}); !errors.Is(err, auth.ErrInsufficientAssurance) {
			t.Errorf("CSR enrolment at LoA low: %v", err)
		}
		// The same citizen at substantial enrols.
		if _, err := e.ca.Enroll(ctx, citizen("001099012345", "jti-ok"), ca.EnrollRequest{Key: "remote", PIN: "246810"}); err != nil {
			t.Fatalf("substantial: %v", err)
		}
	})
}
