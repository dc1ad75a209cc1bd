package tsa_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/digitorus/timestamp"

	"kyso/signer/signertest"
	"kyso/store"
	"kyso/store/storetest"
	"kyso/tsa"
)

var testPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1, 3, 1}

func newServer(t *testing.T, db *store.DB, pki *signertest.PKI) *tsa.Server {
	t.Helper()
	if err := tsa.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	s, err := tsa.New(tsa.Config{Cert: pki.TSA.Cert, Signer: pki.TSA.Key, Policy: testPolicy, Accuracy: 500 * time.Millisecond}, db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestHTTPReplyVerifiesWithOpenSSL(t *testing.T) {
	openssl := signertest.NeedTool(t, "openssl")
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		pki := signertest.New(t, signertest.P256, nil)
		srv := httptest.NewServer(newServer(t, db, pki))
		defer srv.Close()
		dir := t.TempDir()
		data := filepath.Join(dir, "data.txt")
		if err := os.WriteFile(data, []byte("hồ sơ"), 0o600); err != nil {
			t.Fatal(err)
		}
		q := filepath.Join(dir, "q.tsq")
		if out, err := exec.Command(openssl, "ts", "-query", "-data", data, "-sha256", "-cert", "-out", q).CombinedOutput(); err != nil {
			t.Fatalf("ts -query: %v %s", err, out)
		}
		qb, _ := os.ReadFile(q)
		resp, err := http.Post(srv.URL, tsa.QueryType, bytes.NewReader(qb))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tsa.ReplyType {
			t.Fatalf("status %d type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		reply := filepath.Join(dir, "reply.tsr")
		if err := os.WriteFile(reply, body, 0o600); err != nil {
			t.Fatal(err)
		}
		root := signertest.WritePEM(t, dir, "root.pem", pki.Root.Cert)
		tsaPEM := signertest.WritePEM(t, dir, "tsa.pem", pki.TSA.Cert)
		if out, err := exec.Command(openssl, "ts", "-verify", "-in", reply, "-queryfile", q, "-CAfile", root, "-untrusted", tsaPEM).CombinedOutput(); err != nil {
			t.Fatalf("ts -verify: %v\n%s", err, out)
		}
		out, err := exec.Command(openssl, "ts", "-reply", "-in", reply, "-text").CombinedOutput()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Policy OID: 1.3.6.1.4.1.99999.1.3.1", "0x01F4 millis", "Nonce: 0x"} {
			if !bytes.Contains(out, []byte(want)) {
				t.Errorf("reply text lacks %q:\n%s", want, out)
			}
		}
		ts, err := timestamp.ParseResponse(body)
		if err != nil {
			t.Fatal(err)
		}
		ok, err := newServer(t, db, pki).SerialRecorded(context.Background(), ts.SerialNumber)
		if err != nil || !ok {
			t.Fatalf("serial not recorded: %v %v", ok, err)
		}
	})
}

func TestRejections(t *testing.T) {
	db := storetest.SQLite(t)
	pki := signertest.New(t, signertest.P256, nil)
	s := newServer(t, db, pki)
	sum := sha256.Sum256([]byte("x"))
	for _, tc := range []struct {
		name string
		req  timestamp.Request
	}{
		{"sha1", timestamp.Request{HashAlgorithm: crypto.SHA1, HashedMessage: make([]byte, 20)}},
		{"short digest", timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:5]}},
		{"other policy", timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:], TSAPolicyOID: asn1.ObjectIdentifier{1, 2, 3}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			der, err := tc.req.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			resp, err := s.Respond(context.Background(), der)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := timestamp.ParseResponse(resp); err == nil {
				t.Fatal("request granted")
			}
		})
	}
	resp, err := s.Respond(context.Background(), []byte("garbage"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := timestamp.ParseResponse(resp); err == nil {
		t.Fatal("garbage granted")
	}
}

func TestClientAgainstServerAndUniqueSerials(t *testing.T) {
	db := storetest.SQLite(t)
	pki := signertest.New(t, signertest.RSA2048, nil)
	s := newServer(t, db, pki)
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := &tsa.Client{URL: srv.URL, Policy: testPolicy, Roots: []*x509.Certificate{pki.Root.Cert}}
	sum := sha256.Sum256([]byte("doc"))
	seen := map[string]bool{}
	for i := 0; i < 5; i++ {
		var stamper tsa.Stamper = c
		if i%2 == 1 {
			stamper = s
		}
		tok, err := stamper.Stamp(context.Background(), sum[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		ts, err := timestamp.Parse(tok)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ts.HashedMessage, sum[:]) {
			t.Fatal("imprint mismatch")
		}
		if seen[ts.SerialNumber.String()] {
			t.Fatal("duplicate serial")
		}
		seen[ts.SerialNumber.String()] = true
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM tsa_tokens`).Scan(&n); err != nil || n != 5 {
		t.Fatalf("recorded %d serials (%v), want 5", n, err)
	}
	if _, err := tsa.CheckReply([]byte{0x30, 0}, &timestamp.Request{Nonce: big.NewInt(1)}); err == nil {
		t.Fatal("empty reply accepted")
	}
}

// The client embeds only tokens of a TSA it trusts: a TSA of another PKI,
// or any TSA when no trust anchor is configured, is refused.
func TestClientVerifiesTokens(t *testing.T) {
	pki := signertest.New(t, signertest.P256, nil)
	other := signertest.New(t, signertest.P256, nil)
	srv := httptest.NewServer(newServer(t, storetest.SQLite(t), other))
	defer srv.Close()
	sum := sha256.Sum256([]byte("doc"))
	for _, c := range []*tsa.Client{
		{URL: srv.URL, Roots: []*x509.Certificate{pki.Root.Cert}},
		{URL: srv.URL},
	} {
		if _, err := c.Stamp(context.Background(), sum[:], crypto.SHA256); !errors.Is(err, tsa.ErrUntrusted) {
			t.Fatalf("token of an untrusted TSA: %v", err)
		}
	}
	good := &tsa.Client{URL: srv.URL, Roots: []*x509.Certificate{other.Root.Cert}}
	tok, err := good.Stamp(context.Background(), sum[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	// The token is checked against the digest asked for.
	other256 := sha256.Sum256([]byte("other"))
	if err := tsa.VerifyToken(tok, other256[:], crypto.SHA256, good.Roots, nil); !errors.Is(err, tsa.ErrBadReply) {
		t.Fatalf("token over another digest: %v", err)
	}
}

func TestHTTPMethodAndType(t *testing.T) {
	s := newServer(t, storetest.SQLite(t), signertest.New(t, signertest.P256, nil))
	for _, tc := range []struct {
		method, ctype string
		want          int
	}{{"GET", "", 405}, {"POST", "text/plain", 415}} {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(tc.method, "/tsa", bytes.NewReader(nil))
		r.Header.Set("Content-Type", tc.ctype)
		s.ServeHTTP(rec, r)
		if rec.Code != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.ctype, rec.Code, tc.want)
		}
	}
}

func FuzzRespond(f *testing.F) {
	pki := signertest.New(f, signertest.P256, nil)
	db := storetest.SQLite(f)
	if err := tsa.Migrate(context.Background(), db); err != nil {
		f.Fatal(err)
	}
	s, err := tsa.New(tsa.Config{Cert: pki.TSA.Cert, Signer: pki.TSA.Key, Policy: testPolicy}, db)
	if err != nil {
		f.Fatal(err)
	}
	sum := sha256.Sum256(nil)
	req := timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:], Nonce: big.NewInt(7)}
	der, _ := req.Marshal()
	f.Add(der)
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := s.Respond(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	})
}

// A request carrying an extension the TSA does not recognise is refused
// with failInfo unacceptedExtension, whether the extension is critical or
// not (RFC 3161 §2.4.1).
func TestUnrecognisedExtensionRejected(t *testing.T) {
	db := storetest.SQLite(t)
	s := newServer(t, db, signertest.New(t, signertest.P256, nil))
	sum := sha256.Sum256([]byte("x"))
	type messageImprint struct {
		HashAlgorithm pkix.AlgorithmIdentifier
		HashedMessage []byte
	}
	type timeStampReq struct {
		Version        int
		MessageImprint messageImprint
		CertReq        bool             `asn1:"optional,default:false"`
		Extensions     []pkix.Extension `asn1:"optional,tag:0"`
	}
	type pkiStatusInfo struct {
		Status       int
		StatusString []string       `asn1:"optional,utf8"`
		FailInfo     asn1.BitString `asn1:"optional"`
	}
	type timeStampResp struct {
		Status pkiStatusInfo
		Token  asn1.RawValue `asn1:"optional"`
	}
	const unacceptedExtension = 16 // PKIFailureInfo bit
	for _, tc := range []struct {
		name string
		exts []pkix.Extension
		ok   bool
	}{
		{"none", nil, true},
		{"non-critical", []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Value: []byte{5, 0}}}, false},
		{"critical", []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Critical: true, Value: []byte{5, 0}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			der, err := asn1.Marshal(timeStampReq{
				Version: 1,
				MessageImprint: messageImprint{
					HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, Parameters: asn1.NullRawValue},
					HashedMessage: sum[:],
				},
				CertReq:    true,
				Extensions: tc.exts,
			})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := s.Respond(context.Background(), der)
			if err != nil {
				t.Fatal(err)
			}
			var r timeStampResp
			if _, err := asn1.Unmarshal(resp, &r); err != nil {
				t.Fatal(err)
			}
			if tc.ok {
				if r.Status.Status != 0 || len(r.Token.FullBytes) == 0 {
					t.Fatalf("status %+v", r.Status)
				}
				return
			}
			if r.Status.Status != 2 || r.Status.FailInfo.At(unacceptedExtension) != 1 || len(r.Token.FullBytes) != 0 {
				t.Fatalf("status %d failInfo %x, want rejection with unacceptedExtension", r.Status.Status, r.Status.FailInfo.Bytes)
			}
		})
	}
}
