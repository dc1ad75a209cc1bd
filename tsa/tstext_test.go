package tsa_test

import (
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
	"testing"
	"time"

	"github.com/digitorus/timestamp"

	"kyso/cms"
	"kyso/signer/signertest"
	"kyso/tsa"
)

// A TSA (here the digitorus TSA code) that adds a critical TSTInfo
// extension the client does not understand: the client refuses the token
// rather than embed it; the same TSA without the extension is accepted.
func TestClientRefusesCriticalTSTInfoExtension(t *testing.T) {
	pki := signertest.New(t, signertest.P256, nil)
	var exts []pkix.Extension
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		req, err := timestamp.ParseRequest(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ts := timestamp.Timestamp{HashAlgorithm: req.HashAlgorithm, HashedMessage: req.HashedMessage, Time: time.Now(), Nonce: req.Nonce,
			Policy: asn1.ObjectIdentifier{1, 2, 3, 4, 1}, SerialNumber: big.NewInt(time.Now().UnixNano()), AddTSACertificate: true, ExtraExtensions: exts}
		resp, err := ts.CreateResponseWithOpts(pki.TSA.Cert, pki.TSA.Key, crypto.SHA256)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/timestamp-reply")
		w.Write(resp)
	}))
	defer srv.Close()
	c := &tsa.Client{URL: srv.URL, Roots: []*x509.Certificate{pki.Root.Cert}, Intermediates: []*x509.Certificate{pki.Issuing.Cert}}
	sum := sha256.Sum256([]byte("signature value"))
	tok, err := c.Stamp(context.Background(), sum[:], crypto.SHA256)
	if err != nil {
		t.Fatalf("token without extensions: %v", err)
	}
	if _, err := cms.ParseTimeStamp(tok); err != nil {
		t.Fatal(err)
	}
	value, _ := asn1.Marshal("only valid for internal use")
	exts = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3, 4, 5, 6, 7}, Critical: true, Value: value}}
	if _, err := c.Stamp(context.Background(), sum[:], crypto.SHA256); !errors.Is(err, tsa.ErrBadReply) {
		t.Fatalf("token with an unknown critical TSTInfo extension: %v", err)
	}
}
