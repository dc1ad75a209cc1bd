package ca_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"kyso/auth"
	"kyso/ca"
	"kyso/ca/crl"
	"kyso/ca/ocspresp"
	"kyso/ca/profile"
	"kyso/store"
	"kyso/store/storetest"
)

// serve starts a loopback server for the CA's OCSP responder and CRLs and
// returns the environment whose certificates point at it.
func serve(t *testing.T) (*env, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	var e *env
	mux := http.NewServeMux()
	mux.HandleFunc("/ocsp", func(w http.ResponseWriter, r *http.Request) {
		(&ocspresp.Handler{Source: e.ca, Prefix: "/ocsp"}).ServeHTTP(w, r)
	})
	mux.HandleFunc("/ocsp/", func(w http.ResponseWriter, r *http.Request) {
		(&ocspresp.Handler{Source: e.ca, Prefix: "/ocsp"}).ServeHTTP(w, r)
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = ln
	e = sqliteEnv(t, base)
	srv.Start()
	t.Cleanup(srv.Close)
	return e, base
}

func citizenCert(t *testing.T, e *env, id string) *ca.Issued {
	t.Helper()
	csr, _ := newCSR(t)
	iss, err := e.ca.Issue(context.Background(), ca.IssueRequest{
		Profile: profile.Citizen, SubjectID: id, CSR: csr,
		Subject: profile.Subject{CommonName: "Lê Thị Hoa", Province: "Đà Nẵng", UID: profile.CitizenUID(id)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func TestOCSPAndCRLWithOpenSSL(t *testing.T) {
	openssl := requireTool(t, "openssl")
	e, base := serve(t)
	ctx := context.Background()
	iss := citizenCert(t, e, "001099012345")
	dir := t.TempDir()
	root := writePEM(t, dir, "root.pem", e.ca.Root())
	issuing := writePEM(t, dir, "issuing.pem", iss.Chain...)
	leaf := writePEM(t, dir, "leaf.pem", iss.Certificate)

	out := run(t, openssl, "ocsp", "-issuer", issuing, "-cert", leaf, "-url", base+"/ocsp", "-CAfile", root, "-resp_text")
	if !strings.Contains(out, "Response verify OK") || !strings.Contains(out, leaf+": good") || strings.Contains(out, "WARNING") {
		t.Fatalf("ocsp before revocation:\n%s", out)
	}
	// A GET request without nonce gets the pre-signed response.
	out = run(t, openssl, "ocsp", "-issuer", issuing, "-cert", leaf, "-url", base+"/ocsp", "-CAfile", root, "-no_nonce", "-reqout", filepath.Join(dir, "req.der"))
	if !strings.Contains(out, ": good") {
		t.Fatalf("ocsp without nonce:\n%s", out)
	}

	officer := &auth.Principal{Role: auth.RoleOfficer, Subject: "officer-1"}
	if _, err := e.ca.Revoke(ctx, iss.Serial, "keyCompromise", officer); err != nil {
		t.Fatal(err)
	}
	out = run(t, openssl, "ocsp", "-issuer", issuing, "-cert", leaf, "-url", base+"/ocsp", "-CAfile", root)
	if strings.Contains(out, "WARNING") || !strings.Contains(out, leaf+": revoked") || !strings.Contains(out, "Reason: keyCompromise") || !strings.Contains(out, "Response verify OK") {
		t.Fatalf("ocsp after revocation:\n%s", out)
	}
	out = run(t, openssl, "ocsp", "-issuer", issuing, "-cert", leaf, "-url", base+"/ocsp", "-CAfile", root, "-no_nonce")
	if !strings.Contains(out, ": revoked") {
		t.Fatalf("pre-signed ocsp after revocation:\n%s", out)
	}
	if _, err := e.ca.Revoke(ctx, iss.Serial, "keyCompromise", officer); !errors.Is(err, ca.ErrAlreadyRevoked) {
		t.Fatalf("second revocation: %v", err)
	}

	// Every shard's CRL verifies; the serial is in exactly its own shard.
	found := 0
	for shard := 0; shard < e.cfg.CRLShards; shard++ {
		der, err := e.ca.CRL(ctx, "citizen-1", shard)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "shard"+strconv.Itoa(shard)+".crl")
		if err := os.WriteFile(p, der, 0o644); err != nil {
			t.Fatal(err)
		}
		out := run(t, openssl, "crl", "-inform", "DER", "-in", p, "-CAfile", issuing, "-noout", "-text")
		if !strings.Contains(out, "verify OK") {
			t.Fatalf("shard %d: %s", shard, out)
		}
		rl, err := x509.ParseRevocationList(der)
		if err != nil {
			t.Fatal(err)
		}
		if err := rl.CheckSignatureFrom(iss.Chain[0]); err != nil {
			t.Fatal(err)
		}
		var idp *crl.IDP
		for _, ext := range rl.Extensions {
			if ext.Id.Equal(crl.OIDIssuingDistributionPoint) {
				if !ext.Critical {
					t.Errorf("IDP not critical")
				}
				v, err := crl.ParseIDP(ext.Value)
				if err != nil {
					t.Fatal(err)
				}
				idp = &v
			}
		}
		wantURL := base + "/crl/citizen-1/" + strconv.Itoa(shard) + ".crl"
		if idp == nil || len(idp.URLs) != 1 || idp.URLs[0] != wantURL || !idp.OnlyUser {
			t.Fatalf("shard %d IDP %+v", shard, idp)
		}
		if !rl.NextUpdate.After(rl.ThisUpdate) {
			t.Errorf("nextUpdate")
		}
		for _, ent := range rl.RevokedCertificateEntries {
			if ent.SerialNumber.Cmp(iss.Certificate.SerialNumber) == 0 {
				found++
				if shard != iss.Shard {
					t.Errorf("serial in shard %d, issued in %d", shard, iss.Shard)
				}
				if ent.ReasonCode != ocsp.KeyCompromise {
					t.Errorf("reason %d", ent.ReasonCode)
				}
			}
		}
	}
	if found != 1 {
		t.Fatalf("serial found in %d shards", found)
	}
	if iss.Certificate.CRLDistributionPoints[0] != base+"/crl/citizen-1/"+strconv.Itoa(iss.Shard)+".crl" {
		t.Fatalf("CRLDP %v", iss.Certificate.CRLDistributionPoints)
	}
	// The root's CRL verifies against the root.
	der, err := e.ca.CRL(ctx, "root", 0)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "root.crl")
	_ = os.WriteFile(p, der, 0o644)
	if out := run(t, openssl, "crl", "-inform", "DER", "-in", p, "-CAfile", root, "-noout"); !strings.Contains(out, "verify OK") {
		t.Fatalf("root CRL: %s", out)
	}
}

func TestHoldAndRelease(t *testing.T) {
	storetest.Each(t, testHoldAndRelease)
}

func testHoldAndRelease(t *testing.T, db *store.DB) {
	e := setup(t, db, "")
	ctx := context.Background()
	iss := citizenCert(t, e, "001099012345")
	owner := &auth.Principal{Role: auth.RoleCitizen, Subject: "001099012345", Assertion: &auth.Assertion{Subject: "001099012345", LoA: "substantial"}}
	stranger := &auth.Principal{Role: auth.RoleCitizen, Subject: "001099099999", Assertion: &auth.Assertion{Subject: "001099099999", LoA: "substantial"}}
	if _, err := e.ca.Revoke(ctx, iss.Serial, "certificateHold", stranger); !errors.Is(err, ca.ErrForbidden) {
		t.Fatalf("stranger: %v", err)
	}
	if _, err := e.ca.Revoke(ctx, iss.Serial, "removeFromCRL", owner); !errors.Is(err, ca.ErrBadReason) {
		t.Fatalf("bad reason: %v", err)
	}
	if _, err := e.ca.Release(ctx, iss.Serial, owner); !errors.Is(err, ca.ErrNotOnHold) {
		t.Fatalf("release of valid: %v", err)
	}
	if _, err := e.ca.Revoke(ctx, iss.Serial, "certificateHold", owner); err != nil {
		t.Fatal(err)
	}
	status := func() int {
		der, err := e.ca.OCSPResponse(ctx, iss.Certificate)
		if err != nil {
			t.Fatal(err)
		}
		r, err := ocsp.ParseResponseForCert(der, iss.Certificate, iss.Chain[0])
		if err != nil {
			t.Fatal(err)
		}
		if r.Status == ocsp.Revoked && r.RevocationReason != ocsp.CertificateHold {
			t.Fatalf("reason %d", r.RevocationReason)
		}
		return r.Status
	}
	if s := status(); s != ocsp.Revoked {
		t.Fatalf("on hold: status %d", s)
	}
	inCRL := func() bool {
		der, err := e.ca.CRL(ctx, iss.Issuer, iss.Shard)
		if err != nil {
			t.Fatal(err)
		}
		rl, _ := x509.ParseRevocationList(der)
		for _, ent := range rl.RevokedCertificateEntries {
			if ent.SerialNumber.Cmp(iss.Certificate.SerialNumber) == 0 {
				return true
			}
		}
		return false
	}
	if !inCRL() {
		t.Fatal("held certificate not in CRL")
	}
	if _, err := e.ca.Release(ctx, iss.Serial, owner); err != nil {
		t.Fatal(err)
	}
	if s := status(); s != ocsp.Good {
		t.Fatalf("released: status %d", s)
	}
	if inCRL() {
		t.Fatal("released certificate still in CRL")
	}
	// A hold placed by an officer is not the citizen's to lift.
	officer := &auth.Principal{Role: auth.RoleOfficer, Subject: "officer-1"}
	if _, err := e.ca.Revoke(ctx, iss.Serial, "certificateHold", officer); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ca.Release(ctx, iss.Serial, owner); !errors.Is(err, ca.ErrHoldByOfficer) {
		t.Fatalf("citizen released an officer's hold: %v", err)
	}
	if _, err := e.ca.Release(ctx, iss.Serial, officer); err != nil {
		t.Fatal(err)
	}
}

func TestOCSPUnknownAndUnauthorized(t *testing.T) {
	e := sqliteEnv(t, "")
	ctx := context.Background()
	iss := citizenCert(t, e, "001099012345")
	issuer := iss.Chain[0]
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
		fake := *iss.Certificate
		fake.SerialNumber = big.NewInt(12345)
		der, err := ocsp.CreateRequest(&fake, issuer, &ocsp.RequestOptions{Hash: h})
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
		r, err := ocsp.ParseResponse(resp, issuer)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != ocsp.Unknown {
			t.Fatalf("unknown serial: status %d", r.Status)
		}
		// The agency CA's certificates: the citizen serial is unknown there.
		agency, _ := e.ca.AgencyIssuer()
		der, _ = ocsp.CreateRequest(iss.Certificate, agency, &ocsp.RequestOptions{Hash: h})
		req, _ = ocspresp.ParseRequest(der)
		resp, _ = e.ca.Respond(ctx, req)
		if r, err := ocsp.ParseResponse(resp, agency); err != nil || r.Status != ocsp.Unknown {
			t.Fatalf("cross-issuer: %v %v", r, err)
		}
		// A foreign issuer is refused.
		fakeIssuer := *issuer
		fakeIssuer.RawSubject = []byte{0x30, 0}
		der, _ = ocsp.CreateRequest(iss.Certificate, &fakeIssuer, &ocsp.RequestOptions{Hash: h})
		req, _ = ocspresp.ParseRequest(der)
		resp, _ = e.ca.Respond(ctx, req)
		if _, err := ocsp.ParseResponse(resp, nil); !errors.As(err, new(ocsp.ResponseError)) {
			t.Fatalf("foreign issuer: %v", err)
		}
		// A good certificate with SHA-256 CertID is signed on demand.
		der, _ = ocsp.CreateRequest(iss.Certificate, issuer, &ocsp.RequestOptions{Hash: h})
		req, _ = ocspresp.ParseRequest(der)
		resp, _ = e.ca.Respond(ctx, req)
		if r, err := ocsp.ParseResponseForCert(resp, iss.Certificate, issuer); err != nil || r.Status != ocsp.Good {
			t.Fatalf("good: %v %v", r, err)
		}
	}
}

// A response about a certificate revoked a moment ago has thisUpdate no
// earlier than the revocation time (RFC 6960 §4.2.2.1) and no later than
// producedAt, all to the second; the nonce is in responseExtensions.
func TestOCSPTimesAndNonce(t *testing.T) {
	db := storetest.SQLite(t)
	e := setup(t, db, "")
	ctx := context.Background()
	// Thirty-seven seconds into a minute.
	at := time.Now().UTC().Truncate(time.Minute).Add(37*time.Second + 250*time.Millisecond)
	c, err := ca.Load(ctx, db, e.h, ca.Config{BaseURL: e.cfg.BaseURL, CRLShards: e.cfg.CRLShards, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	e.ca = c
	iss := citizenCert(t, e, "001099012345")
	if _, err := c.Revoke(ctx, iss.Serial, "keyCompromise", &auth.Principal{Role: auth.RoleOfficer, Subject: "officer-1"}); err != nil {
		t.Fatal(err)
	}
	issuer := iss.Chain[0]
	der, err := ocsp.CreateRequest(iss.Certificate, issuer, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, nonce := range [][]byte{nil, []byte("0123456789abcdef")} {
		req, err := ocspresp.ParseRequest(der)
		if err != nil {
			t.Fatal(err)
		}
		if nonce != nil {
			val, _ := asn1.Marshal(nonce)
			req.Nonce = &pkix.Extension{Id: ocspresp.OIDNonce, Value: val}
		}
		resp, err := c.Respond(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		r, err := ocsp.ParseResponseForCert(resp, iss.Certificate, issuer)
		if err != nil {
			t.Fatal(err)
		}
		second := at.Truncate(time.Second)
		if r.Status != ocsp.Revoked || !r.RevokedAt.Equal(second) || !r.ThisUpdate.Equal(second) || !r.ProducedAt.Equal(second) {
			t.Fatalf("nonce %q: revoked %v thisUpdate %v producedAt %v, want all %v", nonce, r.RevokedAt, r.ThisUpdate, r.ProducedAt, second)
		}
		if len(r.Extensions) != 0 {
			t.Fatalf("singleExtensions %v", r.Extensions)
		}
		got := responseExtensions(t, resp)
		if nonce == nil && len(got) != 0 || nonce != nil && (len(got) != 1 || !got[0].Id.Equal(ocspresp.OIDNonce) || !bytes.Equal(got[0].Value, req.Nonce.Value)) {
			t.Fatalf("nonce %q: responseExtensions %v", nonce, got)
		}
	}
}

// responseExtensions digs ResponseData.responseExtensions out of a DER
// OCSPResponse.
func responseExtensions(t *testing.T, der []byte) []pkix.Extension {
	t.Helper()
	var resp struct {
		Status asn1.Enumerated
		Bytes  struct {
			Type     asn1.ObjectIdentifier
			Response []byte
		} `asn1:"explicit,tag:0"`
	}
	if _, err := asn1.Unmarshal(der, &resp); err != nil {
		t.Fatal(err)
	}
	var basic struct {
		TBS struct {
			Version     int `asn1:"optional,explicit,default:0,tag:0"`
			ResponderID asn1.RawValue
			ProducedAt  time.Time `asn1:"generalized"`
			Responses   []asn1.RawValue
			Extensions  []pkix.Extension `asn1:"optional,explicit,tag:1"`
		}
		SignatureAlgorithm pkix.AlgorithmIdentifier
		Signature          asn1.BitString
		Certs              asn1.RawValue `asn1:"optional,explicit,tag:0"`
	}
	if _, err := asn1.Unmarshal(resp.Bytes.Response, &basic); err != nil {
		t.Fatal(err)
	}
	return basic.TBS.Extensions
}

// A request with several CertIDs gets one SingleResponse for each (RFC 6960
// §4.2.2.3), checked with openssl; CertIDs of different issuers are not
// answered.
func TestOCSPSeveralCertIDs(t *testing.T) {
	openssl := requireTool(t, "openssl")
	e, base := serve(t)
	ctx := context.Background()
	iss := citizenCert(t, e, "001099012345")
	dir := t.TempDir()
	root := writePEM(t, dir, "root.pem", e.ca.Root())
	issuing := writePEM(t, dir, "issuing.pem", iss.Chain...)
	leaf := writePEM(t, dir, "leaf.pem", iss.Certificate)
	for _, nonce := range []string{"-nonce", "-no_nonce"} {
		out := run(t, openssl, "ocsp", "-issuer", issuing, "-cert", leaf, "-serial", "0x1234", "-url", base+"/ocsp", "-CAfile", root, nonce)
		if !strings.Contains(out, "Response verify OK") || !strings.Contains(out, leaf+": good") || !strings.Contains(out, "0x1234: unknown") || strings.Contains(out, "WARNING") {
			t.Fatalf("%s:\n%s", nonce, out)
		}
	}

	issuer := iss.Chain[0]
	agency, _ := e.ca.AgencyIssuer()
	id := func(serial int64, is *x509.Certificate) ocspresp.CertID {
		t.Helper()
		der, err := ocsp.CreateRequest(&x509.Certificate{SerialNumber: big.NewInt(serial)}, is, nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := ocspresp.ParseRequest(der)
		if err != nil {
			t.Fatal(err)
		}
		return r.CertID
	}
	leafID := id(0, issuer)
	leafID.Serial = iss.Certificate.SerialNumber
	resp, err := e.ca.Respond(ctx, &ocspresp.Request{CertID: leafID, CertIDs: []ocspresp.CertID{leafID, id(0x1234, issuer), id(0x99, issuer)}})
	if err != nil {
		t.Fatal(err)
	}
	for serial, want := range map[*big.Int]int{iss.Certificate.SerialNumber: ocsp.Good, big.NewInt(0x1234): ocsp.Unknown, big.NewInt(0x99): ocsp.Unknown} {
		r, err := ocsp.ParseResponseForCert(resp, &x509.Certificate{SerialNumber: serial}, issuer)
		if err != nil || r.Status != want {
			t.Fatalf("serial %x: %v %v", serial, r, err)
		}
	}
	resp, err = e.ca.Respond(ctx, &ocspresp.Request{CertID: leafID, CertIDs: []ocspresp.CertID{leafID, id(0x1234, agency)}})
	if err != nil || !bytes.Equal(resp, ocsp.UnauthorizedErrorResponse) {
		t.Fatalf("two issuers: %x %v", resp, err)
	}
}
