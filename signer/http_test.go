package signer_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"kyso/api"
	"kyso/audit"
	"kyso/auth"
	"kyso/cli/signcli"
	"kyso/cms"
	"kyso/credential"
	"kyso/signer"
	"kyso/signer/csc"
	"kyso/signer/signertest"
	"kyso/store"
	"kyso/store/storetest"
	"kyso/tsa"
)

const testPIN = "135791"

// fakeAuth maps bearer strings to principals: "kyso_<agency>" tokens are
// agency principals, anything else a citizen assertion named in asserts.
type fakeAuth struct{ asserts map[string]*auth.Assertion }

func (f *fakeAuth) VerifyAssertion(ctx context.Context, raw string) (*auth.Assertion, error) {
	a, ok := f.asserts[raw]
	if !ok {
		return nil, errors.New("unknown assertion")
	}
	return a, nil
}

func (f *fakeAuth) ByToken(ctx context.Context, token string) (*auth.Principal, error) {
	code := strings.TrimPrefix(token, auth.TokenPrefix)
	return &auth.Principal{Role: auth.RoleAgency, Subject: "portal-" + code, AgencyCode: code}, nil
}

func (f *fakeAuth) ByClientCert(ctx context.Context, cert *x509.Certificate) (*auth.Principal, error) {
	return nil, auth.ErrUnauthenticated
}

type counting struct {
	crypto.Signer
	n *atomic.Int64
}

func (c counting) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	c.n.Add(1)
	return c.Signer.Sign(r, d, o)
}

type server struct {
	url   string
	pki   *signertest.PKI
	signs atomic.Int64
	nss   string
	deps  signer.Deps
}

const citizenID = "001099000123"

func newServer(t *testing.T, db *store.DB) *server {
	t.Helper()
	ctx := context.Background()
	s := &server{pki: signertest.New(t, signertest.P256, nil)}
	for _, m := range []func() error{
		func() error { return tsa.Migrate(ctx, db) },
		func() error { return csc.Migrate(ctx, db) },
		func() error { return credential.NewStore(db).Migrate(ctx) },
	} {
		if err := m(); err != nil {
			t.Fatal(err)
		}
	}
	ts, err := tsa.New(tsa.Config{Cert: s.pki.TSA.Cert, Signer: s.pki.TSA.Key, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1, 3, 1}}, db)
	if err != nil {
		t.Fatal(err)
	}
	logb, err := audit.New(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	creds := credential.NewStore(db)
	seal := s.pki.NewSigner(t, signertest.RSA2048, nil, "UBND Phường Hàng Bạc")
	keys := map[string]crypto.Signer{"cred-c1": s.pki.Leaf.Key, "seal-HB-1": seal.Key}
	if err := creds.Create(ctx, nil, credential.Credential{ID: "c1", Kind: credential.KindCitizen, Subject: citizenID, KeyLabel: "cred-c1",
		CertDER: s.pki.Leaf.Cert.Raw, ChainDER: [][]byte{s.pki.Issuing.Cert.Raw}, CertSerial: "1"}, testPIN); err != nil {
		t.Fatal(err)
	}
	if err := creds.Create(ctx, nil, credential.Credential{ID: "s1", Kind: credential.KindSeal, Subject: "HB", AgencyCode: "HB", KeyLabel: "seal-HB-1",
		CertDER: seal.Cert.Raw, ChainDER: [][]byte{s.pki.Issuing.Cert.Raw}, CertSerial: "2"}, ""); err != nil {
		t.Fatal(err)
	}
	s.deps = signer.Deps{Stamper: ts, Revocation: s.pki, Root: s.pki.Root.Cert}
	keyFunc := func(ctx context.Context, label string) (crypto.Signer, error) {
		k, ok := keys[label]
		if !ok {
			return nil, errors.New("no key")
		}
		return counting{k, &s.signs}, nil
	}
	svc := csc.New(db, creds, hashedPINKeys{creds, keyFunc}, keyFunc, logb, s.deps, csc.Config{MaxPINFailures: 3})
	now := time.Now()
	fa := &fakeAuth{asserts: map[string]*auth.Assertion{
		"fresh":   {JTI: "a1", Subject: citizenID, IssuedAt: now, Expiry: now.Add(5 * time.Minute)},
		"other":   {JTI: "a2", Subject: "001099000999", IssuedAt: now, Expiry: now.Add(5 * time.Minute)},
		"expired": {JTI: "a3", Subject: citizenID, IssuedAt: now.Add(-time.Hour), Expiry: now.Add(-50 * time.Minute)},
	}}
	h := api.New(api.Deps{Assertions: fa, Principals: fa}, api.NewSignArea(svc, ts, nil))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func runCLI(t *testing.T, env map[string]string, args ...string) (int, string) {
	t.Helper()
	var stderr bytes.Buffer
	code := signcli.Run(context.Background(), args, signcli.Deps{Getenv: func(k string) string { return env[k] }}, io.Discard, &stderr)
	return code, stderr.String()
}

func TestRemoteCLIAndHTTP(t *testing.T) {
	pdfsig := signertest.NeedTool(t, "pdfsig")
	openssl := signertest.NeedTool(t, "openssl")
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newServer(t, db)
		dir := t.TempDir()
		in := filepath.Join(dir, "form.pdf")
		if err := os.WriteFile(in, signertest.PDF(t, signertest.PDFOptions{Pages: 2}), 0o600); err != nil {
			t.Fatal(err)
		}
		citizen := map[string]string{"KYSO_TOKEN": "fresh", "KYSO_SIGNING_PIN": testPIN}
		out := filepath.Join(dir, "signed.pdf")
		if code, stderr := runCLI(t, citizen, "pdf", "--server", s.url, "--credential-id", "c1", "--level", "B-LTA",
			"--visible", "--page", "2", "--reason", "Đồng ý", "--out", out, in); code != 0 {
			t.Fatalf("kyso sign pdf: %d %s", code, stderr)
		}
		nss := signertest.NSSDB(t, s.pki.Root.Cert)
		res, err := exec.Command(pdfsig, "-nssdir", "sql:"+nss, out).CombinedOutput()
		if err != nil || !bytes.Contains(res, []byte("Signature is Valid")) || !bytes.Contains(res, []byte("Certificate is Trusted")) ||
			!bytes.Contains(res, []byte("DocTimeStamp1")) {
			t.Fatalf("pdfsig: %v\n%s", err, res)
		}

		// An agency seals a file (CAdES) with its own seal.
		agency := map[string]string{"KYSO_TOKEN": auth.TokenPrefix + "HB"}
		p7s := filepath.Join(dir, "form.pdf.p7s")
		if code, stderr := runCLI(t, agency, "cms", "--server", s.url, "--seal-id", "s1", "--level", "B-T", "--out", p7s, in); code != 0 {
			t.Fatalf("kyso sign cms: %d %s", code, stderr)
		}
		root := signertest.WritePEM(t, dir, "root.pem", s.pki.Root.Cert)
		if res, err := exec.Command(openssl, "cms", "-verify", "-binary", "-content", in, "-inform", "DER", "-in", p7s, "-CAfile", root,
			"-out", os.DevNull).CombinedOutput(); err != nil {
			t.Fatalf("openssl cms -verify: %v\n%s", err, res)
		}

		// The seal extended to CAdES-BASELINE-LTA on the server (the
		// message-digest attribute stands for the file), then renewed with
		// the file given; a file that was not signed is refused.
		ext := filepath.Join(dir, "form.pdf.lta.p7s")
		if code, stderr := runCLI(t, agency, "extend", "--server", s.url, "--out", ext, p7s); code != 0 {
			t.Fatalf("kyso sign extend: %d %s", code, stderr)
		}
		renewed := filepath.Join(dir, "form.pdf.lta2.p7s")
		if code, stderr := runCLI(t, agency, "extend", "--server", s.url, "--content", in, "--out", renewed, ext); code != 0 {
			t.Fatalf("kyso sign extend --content: %d %s", code, stderr)
		}
		for path, n := range map[string]int{ext: 1, renewed: 2} {
			if res, err := exec.Command(openssl, "cms", "-verify", "-binary", "-content", in, "-inform", "DER", "-in", path, "-CAfile", root,
				"-out", os.DevNull).CombinedOutput(); err != nil {
				t.Fatalf("openssl cms -verify %s: %v\n%s", filepath.Base(path), err, res)
			}
			b, _ := os.ReadFile(path)
			sd, err := cms.Parse(b)
			if err != nil || len(sd.Signers[0].Unsigned(cms.OIDArchiveTimeStampV3)) != n {
				t.Fatalf("%s: %v, want %d archive time-stamps", filepath.Base(path), err, n)
			}
		}
		if code, stderr := runCLI(t, agency, "extend", "--server", s.url, "--content", root, "--out", filepath.Join(dir, "x.p7s"), p7s); code != 1 || !strings.Contains(stderr, "content-mismatch") {
			t.Fatalf("extend with another file: exit %d, %s", code, stderr)
		}

		// JWS over form data.
		form := filepath.Join(dir, "form.json")
		_ = os.WriteFile(form, []byte(`{"thu_tuc": "1.000001", "ho_ten": "Nguyễn Văn An"}`), 0o600)
		jwsOut := filepath.Join(dir, "form.jws")
		if code, stderr := runCLI(t, citizen, "jws", "--server", s.url, "--credential-id", "c1", "--serialization", "json", "--out", jwsOut, form); code != 0 {
			t.Fatalf("kyso sign jws: %d %s", code, stderr)
		}

		// Refusals: each is problem+json and nothing is signed.
		before := s.signs.Load()
		for _, tc := range []struct {
			name   string
			env    map[string]string
			args   []string
			status string
		}{
			{"wrong PIN", map[string]string{"KYSO_TOKEN": "fresh", "KYSO_SIGNING_PIN": "000000"}, []string{"--credential-id", "c1"}, "wrong-pin"},
			{"another citizen", map[string]string{"KYSO_TOKEN": "other", "KYSO_SIGNING_PIN": testPIN}, []string{"--credential-id", "c1"}, "credential-forbidden"},
			{"expired assertion", map[string]string{"KYSO_TOKEN": "expired", "KYSO_SIGNING_PIN": testPIN}, []string{"--credential-id", "c1"}, "assertion-expired"},
			{"another agency's seal", map[string]string{"KYSO_TOKEN": auth.TokenPrefix + "XX"}, []string{"--seal-id", "s1"}, "credential-forbidden"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				args := append([]string{"pdf", "--server", s.url, "--out", filepath.Join(dir, "x.pdf")}, tc.args...)
				code, stderr := runCLI(t, tc.env, append(args, in)...)
				if code != 1 || !strings.Contains(stderr, tc.status) {
					t.Fatalf("exit %d, stderr %q, want %s", code, stderr, tc.status)
				}
			})
		}
		if s.signs.Load() != before {
			t.Fatal("a refused request signed")
		}
		if _, err := os.Stat(filepath.Join(dir, "x.pdf")); !os.IsNotExist(err) {
			t.Fatal("a refused request left an output file")
		}

		// CSC over HTTP: authorize, signHash, then a replay.
		sum := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
		var authz csc.AuthorizeResponse
		if st, body := post(t, s.url+"/csc/v2/credentials/authorize", "fresh", map[string]any{"credentialID": "c1", "numSignatures": 1,
			"hashes": []string{sum}, "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1", "PIN": testPIN}, &authz); st != 200 {
			t.Fatalf("authorize: %d %s", st, body)
		}
		req := map[string]any{"credentialID": "c1", "SAD": authz.SAD, "hashes": []string{sum},
			"hashAlgorithmOID": "2.16.840.1.101.3.4.2.1", "signAlgo": "1.2.840.10045.4.3.2"}
		var signed csc.SignHashResponse
		if st, body := post(t, s.url+"/csc/v2/signatures/signHash", "fresh", req, &signed); st != 200 || len(signed.Signatures) != 1 || len(signed.AuditEntries) != 1 {
			t.Fatalf("signHash: %d %s", st, body)
		}
		before = s.signs.Load()
		st, body := post(t, s.url+"/csc/v2/signatures/signHash", "fresh", req, nil)
		var prob map[string]any
		_ = json.Unmarshal([]byte(body), &prob)
		if st != 400 || prob["code"] != "invalid-sad" || prob["error"] != "invalid_request" || prob["error_description"] == nil {
			t.Fatalf("replayed SAD: %d %s", st, body)
		}
		if s.signs.Load() != before {
			t.Fatal("a replayed SAD signed")
		}
		// A SAD for one hash does not sign another.
		authz = csc.AuthorizeResponse{}
		if st, body := post(t, s.url+"/csc/v2/credentials/authorize", "fresh", map[string]any{"credentialID": "c1", "numSignatures": 1,
			"hashes": []string{sum}, "PIN": testPIN}, &authz); st != 200 {
			t.Fatalf("authorize: %d %s", st, body)
		}
		other := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{8}, 32))
		req["SAD"], req["hashes"] = authz.SAD, []string{other}
		if st, body := post(t, s.url+"/csc/v2/signatures/signHash", "fresh", req, nil); st != 400 || !strings.Contains(body, "invalid-sad") {
			t.Fatalf("SAD for another hash: %d %s", st, body)
		}
		// Wrong PINs lock the credential (three allowed here); then even
		// the right PIN is refused.
		for i := 0; i < 3; i++ {
			post(t, s.url+"/csc/v2/credentials/authorize", "fresh", map[string]any{"credentialID": "c1", "numSignatures": 1,
				"hashes": []string{sum}, "authData": []map[string]string{{"id": "PIN", "value": "999999"}}}, nil)
		}
		st, body = post(t, s.url+"/csc/v2/credentials/authorize", "fresh", map[string]any{"credentialID": "c1", "numSignatures": 1,
			"hashes": []string{sum}, "PIN": testPIN}, nil)
		if st != 403 || !strings.Contains(body, "credential-locked") || !strings.Contains(body, `"error"`) {
			t.Fatalf("locked credential: %d %s", st, body)
		}
		if s.signs.Load() != before {
			t.Fatal("a refused request signed")
		}
		var info csc.InfoResponse
		if st, body := post(t, s.url+"/csc/v2/info", "", map[string]any{}, &info); st != 200 || info.Specs == "" {
			t.Fatalf("info: %d %s", st, body)
		}
	})
}

// post sends JSON and returns the status and body, decoding into v on 200.
func post(t *testing.T, url, bearer string, body any, v any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("error with content type %q", ct)
		}
	} else if v != nil {
		if err := json.Unmarshal(rb, v); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, string(rb)
}

func newStamper(t testing.TB, pki *signertest.PKI) *tsa.Server {
	t.Helper()
	db := storetest.SQLite(t)
	if err := tsa.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	ts, err := tsa.New(tsa.Config{Cert: pki.TSA.Cert, Signer: pki.TSA.Key, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1, 3, 1}}, db)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// hashedPINKeys opens the in-memory test keys after checking the PIN
// against its stored hash (credential.Keys, which opens wrapped keys in the
// HSM, is tested in package credential and through the server).
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
