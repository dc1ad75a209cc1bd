package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"

	"github.com/digitorus/timestamp"
)

// Stamper produces time-stamp tokens; Server and Client implement it.
type Stamper interface {
	Stamp(ctx context.Context, digest []byte, h crypto.Hash) ([]byte, error)
}

// Client asks an external TSA over HTTP.
type Client struct {
	URL string
	// HTTP is the client used; http.DefaultClient when nil.
	HTTP *http.Client
	// Policy, when set, is requested.
	Policy asn1.ObjectIdentifier
	// Username and Password, when set, are sent as HTTP basic auth.
	Username, Password string
}

// ErrBadReply is returned when the TSA's answer does not match the request.
var ErrBadReply = errors.New("tsa: unacceptable reply")

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
	return CheckReply(body, &req)
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
