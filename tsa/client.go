package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"slices"

	"github.com/digitorus/timestamp"

	"kyso/cms"
)

// Stamper produces time-stamp tokens; Server and Client implement it.
type Stamper interface {
	Stamp(ctx context.Context, digest []byte, h crypto.Hash) ([]byte, error)
}

// Client asks an external TSA over HTTP and verifies every token before
// returning it: the reply must grant the request (imprint, nonce, policy)
// and the token must be signed by a TSA certificate that chains to Roots,
// valid at genTime, whose only extended key usage is a critical
// id-kp-timeStamping, named by the token's ESS signing-certificate
// attribute. A token that fails is never embedded.
type Client struct {
	URL string
	// Roots are the trust anchors of the TSA; without them Stamp refuses
	// every token (ErrUntrusted).
	Roots []*x509.Certificate
	// Intermediates may complete the TSA's chain when the token does not.
	Intermediates []*x509.Certificate
	// HTTP is the client used; http.DefaultClient when nil.
	HTTP *http.Client
	// Policy, when set, is requested.
	Policy asn1.ObjectIdentifier
	// Username and Password, when set, are sent as HTTP basic auth.
	Username, Password string
}

// ErrBadReply is returned when the TSA's answer does not match the request.
var ErrBadReply = errors.New("tsa: unacceptable reply")

// ErrUntrusted is returned when the token is not signed by a TSA the
// client trusts.
var ErrUntrusted = errors.New("tsa: token not signed by a trusted TSA")

// Stamp requests a token over digest and returns the TimeStampToken DER.
func (c *Client) Stamp(ctx context.Context, digest []byte, h crypto.Hash) ([]byte, error) {
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, err
	}
	req := timestamp.Request{HashAlgorithm: h, HashedMessage: digest, Certificates: true, Nonce: nonce, TSAPolicyOID: c.Policy}
	der, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("tsa: encode request: %w", err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(der))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", QueryType)
	if c.Username != "" {
		hr.SetBasicAuth(c.Username, c.Password)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("tsa: post %s: %w", c.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: HTTP %d", ErrBadReply, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("tsa: read reply: %w", err)
	}
	tok, err := CheckReply(body, &req)
	if err != nil {
		return nil, err
	}
	if err := VerifyToken(tok, digest, h, c.Roots, c.Intermediates); err != nil {
		return nil, err
	}
	return tok, nil
}

var (
	oidTSTInfo = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidEKU     = asn1.ObjectIdentifier{2, 5, 29, 37}
)

// VerifyToken checks a time-stamp token over digest (hash h) against TSA
// trust anchors: its TSTInfo (no critical extension, see
// cms.ParseTSTInfo), its signature, its ESS signing-certificate attribute,
// the TSA certificate's critical id-kp-timeStamping and its chain to roots
// at genTime.
func VerifyToken(tok, digest []byte, h crypto.Hash, roots, intermediates []*x509.Certificate) error {
	if len(roots) == 0 {
		return fmt.Errorf("%w: no TSA trust anchors configured", ErrUntrusted)
	}
	ts, err := cms.ParseTimeStamp(tok)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadReply, err)
	}
	if ts.Info.Hash != h || !bytes.Equal(ts.Info.HashedMessage, digest) {
		return fmt.Errorf("%w: message imprint differs", ErrBadReply)
	}
	if len(ts.Token.Signers) != 1 {
		return fmt.Errorf("%w: %d signers", ErrBadReply, len(ts.Token.Signers))
	}
	si := ts.Token.Signers[0]
	if ct, err := si.ContentType(); err != nil || !ct.Equal(oidTSTInfo) {
		return fmt.Errorf("%w: content-type attribute is not id-ct-TSTInfo", ErrBadReply)
	}
	if err := si.CheckSignedAttributes(); err != nil {
		return fmt.Errorf("%w: %v", ErrBadReply, err)
	}
	cert := si.FindSigner(append(slices.Clone(ts.Token.Certificates), intermediates...))
	if cert == nil {
		return fmt.Errorf("%w: the TSA certificate is not in the token", ErrUntrusted)
	}
	ess, _, present, err := si.SigningCertificate()
	if err != nil || !present || !ess.MatchesCert(cert) {
		return fmt.Errorf("%w: no ESS signing-certificate attribute naming the TSA certificate", ErrBadReply)
	}
	md, err := si.MessageDigest()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadReply, err)
	}
	newHash, err := si.Digest()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadReply, err)
	}
	hh := newHash()
	hh.Write(ts.Token.EContent)
	if !bytes.Equal(md, hh.Sum(nil)) {
		return fmt.Errorf("%w: TSTInfo digest mismatch", ErrBadReply)
	}
	if err := si.VerifySignature(cert, nil); err != nil {
		return fmt.Errorf("%w: signature: %v", ErrBadReply, err)
	}
	critical := false
	for _, e := range cert.Extensions {
		critical = critical || (e.Id.Equal(oidEKU) && e.Critical)
	}
	if !critical || len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping || len(cert.UnknownExtKeyUsage) != 0 {
		return fmt.Errorf("%w: the TSA certificate's only extended key usage must be a critical id-kp-timeStamping", ErrUntrusted)
	}
	rootPool, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, c := range roots {
		rootPool.AddCert(c)
	}
	for _, c := range append(slices.Clone(ts.Token.Certificates), intermediates...) {
		inter.AddCert(c)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: rootPool, Intermediates: inter, CurrentTime: ts.Info.GenTime, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}); err != nil {
		return fmt.Errorf("%w: %v", ErrUntrusted, err)
	}
	return nil
}

// CheckReply parses a TimeStampResp, checks it grants req (imprint, nonce,
// policy) and returns the token.
func CheckReply(reply []byte, req *timestamp.Request) ([]byte, error) {
	ts, err := timestamp.ParseResponse(reply)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadReply, err)
	}
	if ts.HashAlgorithm != req.HashAlgorithm || !bytes.Equal(ts.HashedMessage, req.HashedMessage) {
		return nil, fmt.Errorf("%w: message imprint differs", ErrBadReply)
	}
	if req.Nonce != nil && (ts.Nonce == nil || ts.Nonce.Cmp(req.Nonce) != 0) {
		return nil, fmt.Errorf("%w: nonce differs", ErrBadReply)
	}
	if len(req.TSAPolicyOID) > 0 && !ts.Policy.Equal(req.TSAPolicyOID) {
		return nil, fmt.Errorf("%w: policy differs", ErrBadReply)
	}
	return ts.RawToken, nil
}
