package signer

import (
	"context"
	"crypto/x509"
	"errors"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// CARevocation adapts Kyso's CA (ca.CA) to RevocationSource without this
// package depending on it: wire OCSPFunc to ca.CA.OCSPResponse and CRLFunc
// to ca.CA.CRL.
type CARevocation struct {
	OCSPFunc func(ctx context.Context, cert *x509.Certificate) ([]byte, error)
	CRLFunc  func(ctx context.Context, issuerName string, shard int) ([]byte, error)
}

// OCSP returns the CA's current response for cert.
func (c CARevocation) OCSP(ctx context.Context, cert, issuer *x509.Certificate) ([]byte, error) {
	if c.OCSPFunc == nil {
		return nil, errors.New("signer: no OCSP source")
	}
	return c.OCSPFunc(ctx, cert)
}

// CRLs returns the CRLs named in cert's distribution points that follow
// the CA's layout ".../crl/<issuer>/<shard>.crl".
func (c CARevocation) CRLs(ctx context.Context, cert *x509.Certificate) ([][]byte, error) {
	if c.CRLFunc == nil {
		return nil, errors.New("signer: no CRL source")
	}
	var out [][]byte
	var lastErr error
	for _, dp := range cert.CRLDistributionPoints {
		issuer, shard, ok := parseCRLURL(dp)
		if !ok {
			continue
		}
		der, err := c.CRLFunc(ctx, issuer, shard)
		if err != nil {
			lastErr = err
			continue
		}
		out = append(out, der)
	}
	if len(out) == 0 && lastErr != nil {
		return nil, lastErr
	}
	return out, nil
}

func parseCRLURL(s string) (string, int, bool) {
	u, err := url.Parse(s)
	if err != nil {
		return "", 0, false
	}
	dir, file := path.Split(u.Path)
	dir = strings.TrimSuffix(dir, "/")
	parent, issuer := path.Split(dir)
	if !strings.HasSuffix(parent, "/crl/") || issuer == "" || !strings.HasSuffix(file, ".crl") {
		return "", 0, false
	}
	shard, err := strconv.Atoi(strings.TrimSuffix(file, ".crl"))
	if err != nil || shard < 0 {
		return "", 0, false
	}
	return issuer, shard, true
}
