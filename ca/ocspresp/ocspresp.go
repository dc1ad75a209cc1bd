// Package ocspresp is the HTTP side of Kyso's OCSP responder (RFC 6960):
// it reads requests sent by POST or by GET (base64 in the path, RFC 6960
// appendix A.1), extracts the nonce extension (RFC 8954) and hands the
// request to a Source that returns a signed response, pre-signed or fresh.
//
// golang.org/x/crypto/ocsp's ParseRequest drops request extensions, so the
// nonce could not be echoed; this package parses the request itself with
// encoding/asn1 and checks the result against ocsp.ParseRequest's view.
// CreateResponse encodes and signs responses itself (cryptobyte) because
// ocsp.CreateResponse puts extensions, the nonce included, in
// singleExtensions instead of responseExtensions (RFC 6960 §4.4.1, RFC 8954
// §2.1), truncates producedAt to the minute (so thisUpdate had to be
// truncated too and could precede a fresh revocationTime) and answers one
// CertID only.
package ocspresp

import (
	"context"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"

	"kyso/hsm"

	"kyso/hashoid"
)

// OIDNonce is id-pkix-ocsp-nonce.
var OIDNonce = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}

// MaxRequestSize bounds a request body.
const MaxRequestSize = 8 << 10

// MaxCertIDs bounds the CertIDs of one request; a longer requestList is
// malformed.
const MaxCertIDs = 16

// Request is one parsed OCSP request.
type Request struct {
	// CertID is the first CertID of the request.
	CertID
	// CertIDs are all the CertIDs of the request, in order (the first is
	// CertID); the response answers each (RFC 6960 §4.2.2.3).
	CertIDs []CertID
	// Nonce is the nonce extension as received, nil when none was sent.
	Nonce *pkix.Extension
}

// ErrMalformed is returned for requests that cannot be parsed.
var ErrMalformed = errors.New("ocspresp: malformed request")

type certID struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	NameHash      []byte
	IssuerKeyHash []byte
	SerialNumber  *big.Int
}

type singleRequest struct {
	Cert       certID
	Extensions []pkix.Extension `asn1:"explicit,tag:0,optional"`
}

type tbsRequest struct {
	Version       int           `asn1:"explicit,tag:0,default:0,optional"`
	RequestorName asn1.RawValue `asn1:"explicit,tag:1,optional"`
	RequestList   []singleRequest
	Extensions    []pkix.Extension `asn1:"explicit,tag:2,optional"`
}

type ocspRequest struct {
	TBS       tbsRequest
	Signature asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

// ParseRequest parses a DER OCSPRequest.
func ParseRequest(der []byte) (*Request, error) {
	var req ocspRequest
	rest, err := asn1.Unmarshal(der, &req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: trailing data", ErrMalformed)
	}
	if len(req.TBS.RequestList) == 0 {
		return nil, fmt.Errorf("%w: no request", ErrMalformed)
	}
	if len(req.TBS.RequestList) > MaxCertIDs {
		return nil, fmt.Errorf("%w: more than %d CertIDs", ErrMalformed, MaxCertIDs)
	}
	out := &Request{}
	for _, sr := range req.TBS.RequestList {
		id := sr.Cert
		h, ok := hashoid.Hash(id.HashAlgorithm.Algorithm)
		if !ok {
			return nil, fmt.Errorf("%w: unsupported hash %s", ErrMalformed, id.HashAlgorithm.Algorithm)
		}
		if id.SerialNumber == nil || len(id.NameHash) != h.Size() || len(id.IssuerKeyHash) != h.Size() {
			return nil, fmt.Errorf("%w: bad CertID", ErrMalformed)
		}
		out.CertIDs = append(out.CertIDs, CertID{HashAlgorithm: h, IssuerNameHash: id.NameHash, IssuerKeyHash: id.IssuerKeyHash, Serial: id.SerialNumber})
	}
	out.CertID = out.CertIDs[0]
	for _, e := range req.TBS.Extensions {
		if e.Id.Equal(OIDNonce) {
			if len(e.Value) == 0 || len(e.Value) > 64 {
				return nil, fmt.Errorf("%w: bad nonce", ErrMalformed)
			}
			n := e
			out.Nonce = &n
		}
	}
	return out, nil
}

// Source answers requests with a DER OCSPResponse.
type Source interface {
	Respond(ctx context.Context, req *Request) ([]byte, error)
}

// Handler serves OCSP over HTTP at prefix (e.g. "/ocsp"): POST prefix with
// an application/ocsp-request body, or GET prefix/<base64 request>.
type Handler struct {
	Source Source
	Prefix string
	Log    *slog.Logger
	// MaxAge is the Cache-Control max-age of responses without a nonce.
	MaxAge time.Duration
	// Admit, when set, is asked before a parsed request is answered; when
	// it returns false it has written the response (a rate limit).
	Admit func(w http.ResponseWriter, r *http.Request, req *Request) bool
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var der []byte
	switch r.Method {
	case http.MethodPost:
		b, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestSize+1))
		if err != nil || len(b) > MaxRequestSize {
			h.write(w, ocsp.MalformedRequestErrorResponse, false)
			return
		}
		der = b
	case http.MethodGet:
		raw := strings.TrimPrefix(r.URL.EscapedPath(), h.Prefix)
		raw = strings.TrimPrefix(raw, "/")
		s, err := url.PathUnescape(raw)
		if err != nil {
			h.write(w, ocsp.MalformedRequestErrorResponse, false)
			return
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			if b, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "=")); err != nil {
				h.write(w, ocsp.MalformedRequestErrorResponse, false)
				return
			}
		}
		der = b
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	req, err := ParseRequest(der)
	if err != nil {
		h.write(w, ocsp.MalformedRequestErrorResponse, false)
		return
	}
	if h.Admit != nil && !h.Admit(w, r, req) {
		return
	}
	resp, err := h.Source.Respond(r.Context(), req)
	if err != nil {
		if h.Log != nil {
			h.Log.ErrorContext(r.Context(), "ocsp: respond", "serial", req.Serial.Text(16), "err", err)
		}
		// An HSM that cannot sign now (a network HSM restarting) is
		// tryLater (RFC 6960 section 4.2.1): the client may ask again.
		if hsm.IsUnavailable(err) {
			h.write(w, ocsp.TryLaterErrorResponse, false)
			return
		}
		h.write(w, ocsp.InternalErrorErrorResponse, false)
		return
	}
	h.write(w, resp, req.Nonce == nil && r.Method == http.MethodGet)
}

func (h *Handler) write(w http.ResponseWriter, body []byte, cacheable bool) {
	w.Header().Set("Content-Type", "application/ocsp-response")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if cacheable && h.MaxAge > 0 {
		w.Header().Set("Cache-Control", fmt.Sprintf("max-age=%d, public, no-transform, must-revalidate", int(h.MaxAge.Seconds())))
	} else {
		w.Header().Set("Cache-Control", "no-store")
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
