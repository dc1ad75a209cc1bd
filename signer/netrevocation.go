package signer

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"golang.org/x/crypto/ocsp"
)

// NetRevocation fetches revocation information over HTTP from the
// locations in the certificates: OCSP from the AIA responder, CRLs from the
// distribution points. The command line uses it for local B-LT signatures.
type NetRevocation struct {
	// HTTP is the client; one with a 30-second timeout when nil.
	HTTP *http.Client
}

const maxRevocationResponse = 16 << 20

func (n NetRevocation) client() *http.Client {
	if n.HTTP != nil {
		return n.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// OCSP asks cert's OCSP responder and checks the answer is a good status
// for cert, signed for issuer.
func (n NetRevocation) OCSP(ctx context.Context, cert, issuer *x509.Certificate) ([]byte, error) {
	if len(cert.OCSPServer) == 0 {
		return nil, errors.New("signer: certificate names no OCSP responder")
	}
	req, err := ocsp.CreateRequest(cert, issuer, nil)
	if err != nil {
		return nil, fmt.Errorf("signer: OCSP request: %w", err)
	}
	var lastErr error
	for _, url := range cert.OCSPServer {
		hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(req))
		if err != nil {
			lastErr = err
			continue
		}
		hr.Header.Set("Content-Type", "application/ocsp-request")
		der, err := n.fetch(hr)
		if err != nil {
			lastErr = err
			continue
		}
		resp, err := ocsp.ParseResponseForCert(der, cert, issuer)
		if err != nil {
			lastErr = fmt.Errorf("signer: OCSP response from %s: %w", url, err)
			continue
		}
		if resp.Status != ocsp.Good {
			return nil, fmt.Errorf("signer: OCSP status of %s is not good", cert.Subject)
		}
		return der, nil
	}
	return nil, lastErr
}

// CRLs downloads cert's distribution points.
func (n NetRevocation) CRLs(ctx context.Context, cert *x509.Certificate) ([][]byte, error) {
	var out [][]byte
	var lastErr error
	for _, url := range cert.CRLDistributionPoints {
		hr, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			lastErr = err
			continue
		}
		der, err := n.fetch(hr)
		if err != nil {
			lastErr = err
			continue
		}
		if _, err := x509.ParseRevocationList(der); err != nil {
			lastErr = fmt.Errorf("signer: CRL from %s: %w", url, err)
			continue
		}
		out = append(out, der)
	}
	if len(out) == 0 && lastErr != nil {
		return nil, lastErr
	}
	return out, nil
}

func (n NetRevocation) fetch(req *http.Request) ([]byte, error) {
	resp, err := n.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("signer: %s %s: %w", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("signer: %s %s: %s", req.Method, req.URL, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxRevocationResponse+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxRevocationResponse {
		return nil, fmt.Errorf("signer: %s: response too large", req.URL)
	}
	return b, nil
}
