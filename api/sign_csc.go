package api

import (
	"crypto"
	"encoding/json"
	"io"
	"net/http"

	"kyso/auth"
	"kyso/problem"
	"kyso/signer/cades"
	"kyso/signer/csc"
)

func (a *SignArea) cscRoutes(r *Router, signers Access) {
	r.Handle(http.MethodPost, "/csc/v2/info", Public, a.cscInfo)
	r.Handle(http.MethodPost, "/csc/v2/credentials/list", signers, a.cscList)
	r.Handle(http.MethodPost, "/csc/v2/credentials/info", signers, a.cscCredInfo)
	r.Handle(http.MethodPost, "/csc/v2/credentials/authorize", signers, a.cscAuthorize)
	r.Handle(http.MethodPost, "/csc/v2/signatures/signHash", signers, a.cscSignHash)
	r.Handle(http.MethodPost, "/csc/v2/signatures/signDoc", signers, a.cscSignDoc, MaxBody(a.MaxDocument*4/3+1<<20))
}

// cscDecode reads a CSC JSON body. Unlike DecodeJSON it ignores members it
// does not know: CSC clients send optional members this service does not
// use.
func cscDecode(r *http.Request, v any) error {
	if err := RequireContentType(r, "application/json"); err != nil {
		return err
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		if p, ok := problem.As(BodyError(err)); ok {
			return p.With("error", "invalid_request").With("error_description", p.Detail)
		}
		return err
	}
	return nil
}

func (a *SignArea) cscInfo(w http.ResponseWriter, r *http.Request) {
	// info takes an optional {"lang": ...}; the body may be empty.
	_, _ = io.Copy(io.Discard, r.Body)
	WriteJSON(w, http.StatusOK, a.svc.Info())
}

func cscPrincipal(r *http.Request) *auth.Principal {
	p, _ := auth.FromContext(r.Context())
	return p
}

func (a *SignArea) cscList(w http.ResponseWriter, r *http.Request) {
	var req csc.ListRequest
	if err := cscDecode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	resp, err := a.svc.List(r.Context(), cscPrincipal(r), req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, resp)
}

func (a *SignArea) cscCredInfo(w http.ResponseWriter, r *http.Request) {
	var req csc.InfoRequest
	if err := cscDecode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	resp, err := a.svc.CredentialInfo(r.Context(), cscPrincipal(r), req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, resp)
}

func (a *SignArea) cscAuthorize(w http.ResponseWriter, r *http.Request) {
	var req csc.AuthorizeRequest
	if err := cscDecode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	resp, err := a.svc.Authorize(r.Context(), cscPrincipal(r), req, signClient(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, resp)
}

func (a *SignArea) cscSignHash(w http.ResponseWriter, r *http.Request) {
	var req csc.SignHashRequest
	if err := cscDecode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	resp, err := a.svc.SignHash(r.Context(), cscPrincipal(r), req, signClient(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, resp)
}

func (a *SignArea) cscSignDoc(w http.ResponseWriter, r *http.Request) {
	var req csc.SignDocRequest
	if err := cscDecode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	resp, err := a.svc.SignDoc(r.Context(), cscPrincipal(r), req, signClient(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, resp)
}

// signerDigest hashes an uploaded file as a stream (SHA-256), refusing
// files over max bytes.
func signerDigest(part io.Reader, max int64) ([]byte, error) {
	lr := &io.LimitedReader{R: part, N: max + 1}
	d, err := cades.DigestReader(lr, crypto.SHA256)
	if err != nil {
		return nil, BodyError(err)
	}
	if lr.N <= 0 {
		return nil, problem.Newf(http.StatusRequestEntityTooLarge, "body-too-large", "documents are limited to %d bytes", max)
	}
	return d, nil
}
