package api

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"kyso/identity"
	"kyso/problem"
)

// IdentityArea serves chip-card identity verification: challenges,
// verifications and the JWKS of the assertion keys. All three routes are
// public: the chip itself is the credential.
type IdentityArea struct {
	svc *identity.Service
	log *slog.Logger
}

// NewIdentityArea returns the identity area for svc.
func NewIdentityArea(svc *identity.Service, log *slog.Logger) *IdentityArea {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &IdentityArea{svc: svc, log: log}
}

// Maximum request sizes: a challenge request has no body; a verification
// carries EF.SOD, DG1, DG13, DG14, DG15 and the AA signature in base64
// (a few kilobytes in practice).
const (
	identityChallengeMaxBody    = 1 << 10
	identityVerificationMaxBody = 256 << 10
)

// Routes registers the identity routes.
func (a *IdentityArea) Routes(r *Router) {
	r.Handle(http.MethodPost, "/v1/identity/challenges", Public, a.challenge, MaxBody(identityChallengeMaxBody), RateLimit(LimitIdentity))
	r.Handle(http.MethodPost, "/v1/identity/verifications", Public, a.verify, MaxBody(identityVerificationMaxBody), RateLimit(LimitIdentity))
	r.Handle(http.MethodGet, "/.well-known/jwks.json", Public, a.jwks)
}

func (a *IdentityArea) fail(w http.ResponseWriter, r *http.Request, err error) {
	failLogged(a.log, w, r, err)
}

// challengeResponse is the 201 body of POST /v1/identity/challenges. The
// nonce is standard base64 (RFC 4648 section 4, padded) of 8 bytes.
type challengeResponse struct {
	ChallengeID string    `json:"challenge_id"`
	Nonce       string    `json:"nonce"`
	ExpiresAt   time.Time `json:"expires_at"`
}

func (a *IdentityArea) challenge(w http.ResponseWriter, r *http.Request) {
	c, err := a.svc.NewChallenge(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, http.StatusCreated, challengeResponse{ChallengeID: c.ID, Nonce: c.NonceBase64(), ExpiresAt: c.ExpiresAt})
}

// verificationRequest is the body of POST /v1/identity/verifications: the
// files as read from the chip, each base64 (standard alphabet; URL-safe and
// unpadded forms are accepted too).
type verificationRequest struct {
	ChallengeID string `json:"challenge_id"`
	SOD         string `json:"sod"`
	DG1         string `json:"dg1"`
	DG13        string `json:"dg13"`
	DG15        string `json:"dg15"`
	DG14        string `json:"dg14,omitempty"`
	AASignature string `json:"aa_signature"`
}

func decodeB64(field, s string, required bool) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			return nil, problem.Newf(http.StatusBadRequest, identity.CodeMalformedInput, "%s is required", field)
		}
		return nil, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, problem.Newf(http.StatusBadRequest, identity.CodeMalformedInput, "%s is not base64", field)
}

func (a *IdentityArea) verify(w http.ResponseWriter, r *http.Request) {
	var req verificationRequest
	if err := DecodeJSON(r, &req); err != nil {
		// Body problems other than size and media type are malformed input.
		if p, ok := problem.As(err); ok && p.Status == http.StatusBadRequest {
			err = problem.Wrap(http.StatusBadRequest, identity.CodeMalformedInput, fmt.Errorf("%s", p.Detail))
		}
		a.fail(w, r, err)
		return
	}
	if req.ChallengeID == "" {
		a.fail(w, r, problem.New(http.StatusBadRequest, identity.CodeMalformedInput, "challenge_id is required"))
		return
	}
	in := identity.VerifyRequest{ChallengeID: req.ChallengeID}
	fields := []struct {
		name     string
		value    string
		required bool
		dst      *[]byte
	}{
		{"sod", req.SOD, true, &in.SOD},
		{"dg1", req.DG1, true, &in.DG1},
		{"dg13", req.DG13, false, &in.DG13},
		{"dg15", req.DG15, true, &in.DG15},
		{"dg14", req.DG14, false, &in.DG14},
		{"aa_signature", req.AASignature, true, &in.AASignature},
	}
	for _, f := range fields {
		b, err := decodeB64(f.name, f.value, f.required)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		*f.dst = b
	}
	v, err := a.svc.Verify(r.Context(), in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, http.StatusCreated, v)
}

func (a *IdentityArea) jwks(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	WriteJSON(w, http.StatusOK, a.svc.JWKS())
}
