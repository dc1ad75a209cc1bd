package api

import (
	"bytes"
	"crypto"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"kyso/auth"
	"kyso/ca"
	"kyso/ca/ocspresp"
	"kyso/problem"
)

// CAArea serves certificate issuance and revocation under /v1/certificates,
// the CA certificates, the sharded CRLs under /crl and the OCSP responder
// at /ocsp.
type CAArea struct {
	ca   *ca.CA
	log  *slog.Logger
	ocsp *ocspresp.Handler
}

// NewCAArea returns the area for c.
func NewCAArea(c *ca.CA, log *slog.Logger) *CAArea {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &CAArea{ca: c, log: log, ocsp: &ocspresp.Handler{Source: c, Prefix: "/ocsp", Log: log, MaxAge: time.Hour}}
}

// Routes registers the CA routes.
func (a *CAArea) Routes(r *Router) {
	citizen := Roles(auth.RoleCitizen)
	officers := Roles(auth.RoleOfficer, auth.RoleAdmin)
	owners := Roles(auth.RoleCitizen, auth.RoleOfficer, auth.RoleAdmin)
	r.Handle(http.MethodPost, "/v1/certificates", citizen, a.issue, MaxBody(ca.MaxCSRSize+4096), RateLimit(LimitEnrol))
	r.Handle(http.MethodGet, "/v1/certificates", officers, a.list)
	r.Handle(http.MethodGet, "/v1/certificates/{serial}", owners, a.get)
	r.Handle(http.MethodPost, "/v1/certificates/{serial}/revoke", owners, a.revoke, MaxBody(4096))
	r.Handle(http.MethodPost, "/v1/certificates/{serial}/release", owners, a.release, MaxBody(4096))
	r.Handle(http.MethodGet, "/v1/ca/certificates", Public, a.caCertificates)
	r.Handle(http.MethodGet, "/ca/{issuer}.crt", Public, a.caCertificate)
	r.Handle(http.MethodGet, "/crl/{issuer}/{shard:[0-9]+}.crl", Public, a.crl, RateLimit(LimitCRL))
	// Pre-signed answers cost nothing; a request that needs a signature
	// on demand takes a token of its client's OCSP bucket.
	a.ocsp.Admit = func(w http.ResponseWriter, req *http.Request, q *ocspresp.Request) bool {
		if q.Nonce == nil && len(q.CertIDs) <= 1 && q.CertID.HashAlgorithm == crypto.SHA1 {
			return true
		}
		if err := r.Admit(w, req, LimitOCSPSigned); err != nil {
			a.fail(w, req, err)
			return false
		}
		return true
	}
	r.Handle(http.MethodPost, "/ocsp", Public, a.ocsp.ServeHTTP, MaxBody(ocspresp.MaxRequestSize))
	r.Handle(http.MethodGet, "/ocsp/{request:.+}", Public, a.ocsp.ServeHTTP)
}

func (a *CAArea) fail(w http.ResponseWriter, r *http.Request, err error) {
	failLogged(a.log, w, r, err)
}

func caPrincipal(r *http.Request) *auth.Principal {
	p, _ := auth.FromContext(r.Context())
	return p
}

func pemOf(ders ...[]byte) string {
	var b bytes.Buffer
	for _, d := range ders {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: d})
	}
	return b.String()
}

type issueResponse struct {
	Serial       string `json:"serial"`
	CredentialID string `json:"credential_id,omitempty"`
	Certificate  string `json:"certificate"`
	Chain        string `json:"chain"`
	NotBefore    string `json:"not_before"`
	NotAfter     string `json:"not_after"`
	CRLShard     int    `json:"crl_shard"`
	Issuer       string `json:"issuer"`
	AuditEntry   string `json:"audit_entry,omitempty"`
}

func (a *CAArea) issue(w http.ResponseWriter, r *http.Request) {
	var req ca.EnrollRequest
	if err := DecodeJSON(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	en, err := a.ca.Enroll(r.Context(), caPrincipal(r), req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	chain := make([][]byte, 0, len(en.Chain))
	for _, c := range en.Chain {
		chain = append(chain, c.Raw)
	}
	w.Header().Set("Location", "/v1/certificates/"+en.Serial)
	WriteJSON(w, http.StatusCreated, issueResponse{
		Serial: en.Serial, CredentialID: en.CredentialID,
		Certificate: pemOf(en.Certificate.Raw), Chain: pemOf(chain...),
		NotBefore: en.Certificate.NotBefore.UTC().Format(time.RFC3339), NotAfter: en.Certificate.NotAfter.UTC().Format(time.RFC3339),
		CRLShard: en.Shard, Issuer: en.Issuer, AuditEntry: en.AuditEntry,
	})
}

type certJSON struct {
	Serial       string  `json:"serial"`
	Issuer       string  `json:"issuer"`
	Profile      string  `json:"profile"`
	Subject      string  `json:"subject"`
	SubjectID    string  `json:"subject_id,omitempty"`
	CredentialID string  `json:"credential_id,omitempty"`
	Status       string  `json:"status"`
	Reason       string  `json:"reason,omitempty"`
	RevokedAt    *string `json:"revoked_at,omitempty"`
	NotBefore    string  `json:"not_before"`
	NotAfter     string  `json:"not_after"`
	CRLShard     int     `json:"crl_shard"`
	Certificate  string  `json:"certificate,omitempty"`
	AuditEntry   string  `json:"audit_entry,omitempty"`
}

func toCertJSON(ci *ca.CertInfo, withPEM bool) certJSON {
	out := certJSON{
		Serial: ci.Serial, Issuer: ci.Issuer, Profile: ci.Profile, Subject: ci.Subject, SubjectID: ci.SubjectID,
		CredentialID: ci.CredentialID, Status: ci.Status, Reason: ci.Reason, CRLShard: ci.Shard,
		NotBefore: ci.NotBefore.Format(time.RFC3339), NotAfter: ci.NotAfter.Format(time.RFC3339),
		AuditEntry: ci.AuditEntry,
	}
	if ci.RevokedAt != nil {
		s := ci.RevokedAt.Format(time.RFC3339)
		out.RevokedAt = &s
	}
	if withPEM {
		out.Certificate = pemOf(ci.DER)
	}
	return out
}

func (a *CAArea) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 0
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			a.fail(w, r, problem.New(http.StatusBadRequest, "bad-request", "limit must be a positive integer"))
			return
		}
		limit = n
	}
	certs, next, err := a.ca.List(r.Context(), ca.ListFilter{Subject: q.Get("subject"), Status: q.Get("status"), PageToken: q.Get("page_token"), Limit: limit})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	items := make([]certJSON, 0, len(certs))
	for i := range certs {
		items = append(items, toCertJSON(&certs[i], false))
	}
	resp := map[string]any{"certificates": items}
	if next != "" {
		resp["next_page_token"] = next
	}
	WriteJSON(w, http.StatusOK, resp)
}

func (a *CAArea) get(w http.ResponseWriter, r *http.Request) {
	ci, err := a.ca.Get(r.Context(), mux.Vars(r)["serial"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	p := caPrincipal(r)
	if p.Role == auth.RoleCitizen && p.Subject != ci.SubjectID {
		a.fail(w, r, ca.ErrNotFound) // do not reveal others' certificates
		return
	}
	WriteJSON(w, http.StatusOK, toCertJSON(ci, true))
}

func (a *CAArea) revoke(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := DecodeJSON(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if req.Reason == "" {
		req.Reason = "unspecified"
	}
	ci, err := a.ca.Revoke(r.Context(), mux.Vars(r)["serial"], req.Reason, caPrincipal(r))
	if err != nil {
		a.fail(w, r, a.hideOthers(r, err))
		return
	}
	WriteJSON(w, http.StatusOK, toCertJSON(ci, false))
}

func (a *CAArea) release(w http.ResponseWriter, r *http.Request) {
	ci, err := a.ca.Release(r.Context(), mux.Vars(r)["serial"], caPrincipal(r))
	if err != nil {
		a.fail(w, r, a.hideOthers(r, err))
		return
	}
	WriteJSON(w, http.StatusOK, toCertJSON(ci, false))
}

// hideOthers answers a citizen who acts on someone else's certificate as
// if it did not exist.
func (a *CAArea) hideOthers(r *http.Request, err error) error {
	if p := caPrincipal(r); p != nil && p.Role == auth.RoleCitizen && errors.Is(err, ca.ErrForbidden) {
		return ca.ErrNotFound
	}
	return err
}

func (a *CAArea) caCertificates(w http.ResponseWriter, r *http.Request) {
	var ders [][]byte
	for _, is := range a.ca.Issuers() {
		ders = append(ders, is.Certificate.Raw)
	}
	w.Header().Set("Content-Type", "application/pem-certificate-chain")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write([]byte(pemOf(ders...)))
}

func (a *CAArea) caCertificate(w http.ResponseWriter, r *http.Request) {
	cert, err := a.ca.IssuerCertificate(mux.Vars(r)["issuer"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pkix-cert")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write(cert.Raw)
}

func (a *CAArea) crl(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	shard, err := strconv.Atoi(v["shard"])
	if err != nil {
		a.fail(w, r, problem.New(http.StatusNotFound, "unknown-shard", "no such CRL shard"))
		return
	}
	der, err := a.ca.CRL(r.Context(), v["issuer"], shard)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pkix-crl")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(der)
}
