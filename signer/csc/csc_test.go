package csc_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"kyso/audit"
	"kyso/auth"
	"kyso/credential"
	"kyso/problem"
	"kyso/signer/csc"
	"kyso/signer/signertest"
	"kyso/store"
	"kyso/store/storetest"
)

const pin = "246810"

type countingSigner struct {
	crypto.Signer
	n *atomic.Int64
}

func (c countingSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	c.n.Add(1)
	return c.Signer.Sign(r, d, o)
}

type fixture struct {
	svc     *csc.Service
	creds   *credential.Store
	log     *audit.Log
	pki     *signertest.PKI
	signs   atomic.Int64
	now     time.Time
	citizen *auth.Principal
	other   *auth.Principal
	credID  string
	sealID  string
	agency  *auth.Principal
}

func newFixture(t *testing.T, db *store.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{pki: signertest.New(t, signertest.P256, nil), now: time.Now()}
	f.creds = credential.NewStore(db)
	if err := f.creds.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := csc.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.log, err = audit.New(ctx, db, nil); err != nil {
		t.Fatal(err)
	}
	seal := f.pki.NewSigner(t, signertest.RSA2048, nil, "UBND Phường Hàng Bạc")
	keys := map[string]crypto.Signer{"cred-c1": f.pki.Leaf.Key, "seal-HB-1": seal.Key}
	f.credID, f.sealID = "c1", "s1"
	if err := f.creds.Create(ctx, nil, credential.Credential{ID: f.credID, Kind: credential.KindCitizen, Subject: "001099000123", Profile: "citizen-remote",
		KeyLabel: "cred-c1", KeyType: "ECP256", CertSerial: f.pki.Leaf.Cert.SerialNumber.Text(16), CertDER: f.pki.Leaf.Cert.Raw,
		ChainDER: [][]byte{f.pki.Issuing.Cert.Raw}}, pin); err != nil {
		t.Fatal(err)
	}
	if err := f.creds.Create(ctx, nil, credential.Credential{ID: f.sealID, Kind: credential.KindSeal, Subject: "HB", AgencyCode: "HB", Profile: "agency-seal",
		KeyLabel: "seal-HB-1", KeyType: "RSA2048", CertSerial: seal.Cert.SerialNumber.Text(16), CertDER: seal.Cert.Raw,
		ChainDER: [][]byte{f.pki.Issuing.Cert.Raw}}, ""); err != nil {
		t.Fatal(err)
	}
	keyFunc := func(ctx context.Context, label string) (crypto.Signer, error) {
		k, ok := keys[label]
		if !ok {
			return nil, errors.New("no such key")
		}
		return countingSigner{Signer: k, n: &f.signs}, nil
	}
	f.svc = csc.New(db, f.creds, hashedPINKeys{f.creds, keyFunc}, keyFunc, f.log, signerDeps(t, f.pki), csc.Config{MaxPINFailures: 3, Now: func() time.Time { return f.now }})
	f.citizen = citizen("001099000123", f.now)
	f.other = citizen("001099000999", f.now)
	f.agency = &auth.Principal{Role: auth.RoleAgency, Subject: "portal-hb", AgencyCode: "HB"}
	return f
}

// hashedPINKeys opens citizens' in-memory test keys after checking the PIN
// against its stored hash; credential.Keys, which opens wrapped keys in the
// HSM, is tested in package credential and through the server.
type hashedPINKeys struct {
	creds *credential.Store
	keys  func(ctx context.Context, label string) (crypto.Signer, error)
}

func (k hashedPINKeys) Activate(ctx context.Context, c *credential.Credential, pin string, max int) ([]byte, error) {
	if err := k.creds.CheckPIN(ctx, c.ID, pin, max); err != nil {
		return nil, err
	}
	return []byte("activation:" + c.ID), nil
}

func (k hashedPINKeys) OpenSigner(ctx context.Context, c *credential.Credential, act []byte) (crypto.Signer, error) {
	if string(act) != "activation:"+c.ID {
		return nil, errors.New("wrong activation data")
	}
	return k.keys(ctx, c.KeyLabel)
}

func citizen(id string, now time.Time) *auth.Principal {
	return &auth.Principal{Role: auth.RoleCitizen, Subject: id, Assertion: &auth.Assertion{
		JTI: "j-" + id, Subject: id, LoA: "substantial", IssuedAt: now.Add(-time.Minute), Expiry: now.Add(4 * time.Minute)}}
}

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

const sha256OID = "2.16.840.1.101.3.4.2.1"

func (f *fixture) authorize(t *testing.T, p *auth.Principal, hashes ...string) string {
	t.Helper()
	resp, err := f.svc.Authorize(context.Background(), p, csc.AuthorizeRequest{
		CredentialID: f.credID, NumSignatures: len(hashes), Hashes: hashes, HashAlgorithmOID: sha256OID, PIN: pin}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return resp.SAD
}

func (f *fixture) signHash(p *auth.Principal, sad string, hashes ...string) (*csc.SignHashResponse, error) {
	return f.svc.SignHash(context.Background(), p, csc.SignHashRequest{CredentialID: f.credID, SAD: sad, Hashes: hashes,
		HashAlgorithmOID: sha256OID, SignAlgo: "1.2.840.10045.4.3.2"}, "test")
}

// refused asserts err is a problem carrying CSC's error members and that
// nothing was signed.
func (f *fixture) refused(t *testing.T, err error, before int64, code string) {
	t.Helper()
	p, ok := problem.As(err)
	if !ok {
		t.Fatalf("not a problem: %v", err)
	}
	if code != "" && p.Code != code {
		t.Fatalf("code %q, want %q (%v)", p.Code, code, err)
	}
	if p.Extra["error"] == nil || p.Extra["error_description"] == nil {
		t.Fatalf("problem lacks CSC error members: %+v", p.Extra)
	}
	if f.signs.Load() != before {
		t.Fatal("the key signed")
	}
}

func TestSoleControl(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		h1, h2 := hashOf("one"), hashOf("two")

		// The happy path: two hashes, two signatures, audited.
		sad := f.authorize(t, f.citizen, h1, h2)
		resp, err := f.signHash(f.citizen, sad, h2, h1)
		if err != nil {
			t.Fatal(err)
		}
		pub := f.pki.Leaf.Cert.PublicKey.(*ecdsa.PublicKey)
		for i, h := range []string{h2, h1} {
			d, _ := base64.StdEncoding.DecodeString(h)
			sig, _ := base64.StdEncoding.DecodeString(resp.Signatures[i])
			if !ecdsa.VerifyASN1(pub, d, sig) {
				t.Fatalf("signature %d does not verify", i)
			}
		}
		entries, err := f.log.List(ctx, audit.Filter{Object: "credential:" + f.credID})
		if err != nil {
			t.Fatal(err)
		}
		signed := 0
		for _, e := range entries {
			if e.Action == "signature.create" {
				signed++
			}
		}
		if signed != 2 {
			t.Fatalf("%d signatures audited, want 2", signed)
		}

		cases := []struct {
			name string
			run  func() error
			code string
		}{
			{"replayed SAD", func() error { _, err := f.signHash(f.citizen, sad, h1, h2); return err }, "invalid-sad"},
			{"SAD for another hash", func() error {
				s := f.authorize(t, f.citizen, h1)
				_, err := f.signHash(f.citizen, s, hashOf("other"))
				return err
			}, "invalid-sad"},
			{"SAD for fewer hashes", func() error {
				s := f.authorize(t, f.citizen, h1, h2)
				_, err := f.signHash(f.citizen, s, h1)
				return err
			}, "invalid-sad"},
			{"SAD used by another citizen", func() error {
				s := f.authorize(t, f.citizen, h1)
				_, err := f.signHash(f.other, s, h1)
				return err
			}, ""},
			{"another citizen's credential", func() error {
				_, err := f.svc.Authorize(ctx, f.other, csc.AuthorizeRequest{CredentialID: f.credID, NumSignatures: 1, Hashes: []string{h1}, PIN: pin}, "t")
				return err
			}, "credential-forbidden"},
			{"expired SAD", func() error {
				s := f.authorize(t, f.citizen, h1)
				f.now = f.now.Add(6 * time.Minute)
				defer func() { f.now = f.now.Add(-6 * time.Minute) }()
				f.citizen.Assertion.IssuedAt, f.citizen.Assertion.Expiry = f.now, f.now.Add(time.Minute)
				defer func() { f.citizen = citizen(f.citizen.Subject, f.now.Add(-6*time.Minute)) }()
				_, err := f.signHash(f.citizen, s, h1)
				return err
			}, "invalid-sad"},
			{"expired assertion", func() error {
				p := citizen(f.citizen.Subject, f.now)
				p.Assertion.Expiry = f.now.Add(-time.Second)
				_, err := f.svc.Authorize(ctx, p, csc.AuthorizeRequest{CredentialID: f.credID, NumSignatures: 1, Hashes: []string{h1}, PIN: pin}, "t")
				return err
			}, "assertion-expired"},
			{"stale assertion", func() error {
				p := citizen(f.citizen.Subject, f.now)
				p.Assertion.IssuedAt = f.now.Add(-time.Hour)
				p.Assertion.Expiry = f.now.Add(time.Hour)
				_, err := f.svc.Authorize(ctx, p, csc.AuthorizeRequest{CredentialID: f.credID, NumSignatures: 1, Hashes: []string{h1}, PIN: pin}, "t")
				return err
			}, "assertion-stale"},
			{"missing PIN", func() error {
				_, err := f.svc.Authorize(ctx, f.citizen, csc.AuthorizeRequest{CredentialID: f.credID, NumSignatures: 1, Hashes: []string{h1}}, "t")
				return err
			}, "pin-required"},
			{"numSignatures mismatch", func() error {
				_, err := f.svc.Authorize(ctx, f.citizen, csc.AuthorizeRequest{CredentialID: f.credID, NumSignatures: 2, Hashes: []string{h1}, PIN: pin}, "t")
				return err
			}, "bad-request"},
			{"agency using a citizen credential", func() error {
				_, err := f.svc.Activate(ctx, f.agency, f.credID, "", "t")
				return err
			}, "credential-forbidden"},
			{"other agency's seal", func() error {
				_, err := f.svc.Activate(ctx, &auth.Principal{Role: auth.RoleAgency, Subject: "portal-x", AgencyCode: "XX"}, f.sealID, "", "t")
				return err
			}, "credential-forbidden"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := f.signs.Load()
				f.refused(t, tc.run(), before, tc.code)
			})
		}

		// Wrong PINs are counted; the third locks the credential, after
		// which even the right PIN is refused.
		before := f.signs.Load()
		for i := 0; i < 3; i++ {
			_, err := f.svc.Authorize(ctx, f.citizen, csc.AuthorizeRequest{CredentialID: f.credID, NumSignatures: 1, Hashes: []string{h1}, PIN: "000000"}, "t")
			want := "wrong-pin"
			if i == 2 {
				want = "credential-locked"
			}
			f.refused(t, err, before, want)
			if p, _ := problem.As(err); p.Status != http.StatusForbidden {
				t.Fatalf("status %d", p.Status)
			}
		}
		_, err = f.svc.Authorize(ctx, f.citizen, csc.AuthorizeRequest{CredentialID: f.credID, NumSignatures: 1, Hashes: []string{h1}, PIN: pin}, "t")
		f.refused(t, err, before, "credential-locked")

		// The agency's own seal works without PIN.
		act, err := f.svc.Activate(ctx, f.agency, f.sealID, "", "t")
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte("e-result"))
		if _, err := act.Key.Signer.Sign(nil, sum[:], crypto.SHA256); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSignDocPAdES(t *testing.T) {
	db := storetest.SQLite(t)
	f := newFixture(t, db)
	pdf := signertest.PDF(t, signertest.PDFOptions{})
	sum := sha256.Sum256(pdf)
	h := base64.StdEncoding.EncodeToString(sum[:])
	sad := f.authorize(t, f.citizen, h)
	resp, err := f.svc.SignDoc(context.Background(), f.citizen, csc.SignDocRequest{CredentialID: f.credID, SAD: sad,
		Documents: []csc.Document{{Document: base64.StdEncoding.EncodeToString(pdf), SignatureFormat: "P", ConformanceLevel: "Ades-B-LT"}}}, "t")
	if err != nil {
		t.Fatal(err)
	}
	out, _ := base64.StdEncoding.DecodeString(resp.DocumentWithSignature[0])
	if !bytes.HasPrefix(out, pdf) || !bytes.Contains(out, []byte("/DSS ")) {
		t.Fatal("not a B-LT signed PDF")
	}
	// A SAD for another document is refused.
	sad = f.authorize(t, f.citizen, h)
	before := f.signs.Load()
	other := signertest.PDF(t, signertest.PDFOptions{Pages: 2})
	_, err = f.svc.SignDoc(context.Background(), f.citizen, csc.SignDocRequest{CredentialID: f.credID, SAD: sad,
		Documents: []csc.Document{{Document: base64.StdEncoding.EncodeToString(other), SignatureFormat: "P"}}}, "t")
	f.refused(t, err, before, "invalid-sad")
}

// TestSADSingleUseUnderConcurrency presents one SAD from many requests at
// once: exactly one signs.
func TestSADSingleUseUnderConcurrency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		h := hashOf("once")
		sad := f.authorize(t, f.citizen, h)
		const n = 8
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			go func() {
				_, err := f.signHash(f.citizen, sad, h)
				errs <- err
			}()
		}
		ok := 0
		for i := 0; i < n; i++ {
			if err := <-errs; err == nil {
				ok++
			} else if p, isP := problem.As(err); !isP || p.Code != "invalid-sad" {
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok != 1 || f.signs.Load() != 1 {
			t.Fatalf("%d requests signed (%d signatures), want 1", ok, f.signs.Load())
		}
	})
}

// No signature under a certificate that has expired: neither a citizen's
// (nor a SAD obtained before it expired) nor an agency's seal.
func TestExpiredCertificateNeverSigns(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	ctx := context.Background()
	h1 := hashOf("one")
	sad := f.authorize(t, f.citizen, h1)
	f.now = f.pki.Leaf.Cert.NotAfter.Add(time.Minute)
	f.citizen = citizen(f.citizen.Subject, f.now)
	before := f.signs.Load()
	_, err := f.svc.Authorize(ctx, f.citizen, csc.AuthorizeRequest{CredentialID: f.credID, NumSignatures: 1, Hashes: []string{h1},
		HashAlgorithmOID: sha256OID, PIN: pin}, "t")
	f.refused(t, err, before, "certificate-expired")
	_, err = f.signHash(f.citizen, sad, h1)
	f.refused(t, err, before, "")
	_, err = f.svc.Activate(ctx, f.agency, f.sealID, "", "t")
	f.refused(t, err, before, "certificate-expired")
	// credentials/info says so.
	info, err := f.svc.CredentialInfo(ctx, f.agency, csc.InfoRequest{CredentialID: f.sealID, CertInfo: true})
	if err != nil {
		t.Fatal(err)
	}
	if info.Key.Status != "disabled" || info.Cert == nil || info.Cert.Status != "expired" {
		t.Fatalf("credentials/info of an expired seal: key %s, cert %+v", info.Key.Status, info.Cert)
	}
}
