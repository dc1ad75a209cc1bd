package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"kyso/audit"
	"kyso/auth"
	"kyso/problem"
)

// AuditArea serves the audit log as a transparency log: the latest signed
// checkpoint, the verifier key, C2SP tlog-tiles, inclusion and consistency
// proofs and entry receipts.
//
// Checkpoints, the key, hash tiles and proofs are public (hash tiles are
// immutable and cacheable by a CDN). Entry bundles carry who did what, so
// they are served to officers and administrators; a receipt is served to
// whoever knows its entry's random id, which the response of the logged
// action returned.
type AuditArea struct {
	log  *audit.Log
	vkey string
	slog *slog.Logger
}

// NewAuditArea returns the area for l; vkey is its note verifier key.
func NewAuditArea(l *audit.Log, vkey string, log *slog.Logger) *AuditArea {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &AuditArea{log: l, vkey: vkey, slog: log}
}

// ReceiptHeader carries a response's audit entry id where the body cannot
// (file downloads); GET /v1/audit/receipts/{id} returns its receipt.
const ReceiptHeader = "Kyso-Audit-Entry"

// Routes registers the audit routes.
func (a *AuditArea) Routes(r *Router) {
	r.Handle(http.MethodGet, "/v1/audit/checkpoint", Public, a.checkpoint)
	r.Handle(http.MethodGet, "/v1/audit/key", Public, a.key)
	r.Handle(http.MethodGet, "/v1/audit/tile/entries/{path:.+}", Roles(auth.RoleOfficer, auth.RoleAdmin), a.tile)
	r.Handle(http.MethodGet, "/v1/audit/tile/{path:.+}", Public, a.tile)
	r.Handle(http.MethodGet, "/v1/audit/proof/inclusion", Public, a.inclusion)
	r.Handle(http.MethodGet, "/v1/audit/proof/consistency", Public, a.consistency)
	r.Handle(http.MethodGet, "/v1/audit/receipts/{id}", Public, a.receipt)
}

func (a *AuditArea) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, audit.ErrBadRequest):
		err = problem.Wrap(http.StatusBadRequest, "bad-request", err)
	case errors.Is(err, audit.ErrNotFound):
		err = problem.Wrap(http.StatusNotFound, "not-found", err)
	}
	failLogged(a.slog, w, r, err)
}

func (a *AuditArea) checkpoint(w http.ResponseWriter, r *http.Request) {
	h, err := a.log.Latest(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(h.Note)
}

func (a *AuditArea) key(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(a.vkey + "\n"))
}

func (a *AuditArea) tile(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path[len("/v1/audit/"):]
	t, err := audit.ParseTilePath(p)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	data, err := a.log.Tile(r.Context(), t)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	// Only tiles within a signed checkpoint are served: their content never
	// changes (a partial tile has its width in its path). Hash tiles are
	// public: a CDN may keep them. Entry bundles name citizens and are
	// served to officers and admins only, so no shared cache may keep
	// one: "public" would let a CDN store an officer's authenticated
	// response and hand it to anyone (RFC 9111, section 3.5).
	if t.L < 0 {
		w.Header().Set("Cache-Control", "private, max-age=31536000, immutable")
		w.Header().Set("Vary", "Authorization")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	_, _ = w.Write(data)
}

func queryInt(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, problem.Newf(http.StatusBadRequest, "bad-request", "query parameter %s: want a non-negative integer, got %q", name, v)
	}
	return n, nil
}

func (a *AuditArea) inclusion(w http.ResponseWriter, r *http.Request) {
	index, err := queryInt(r, "index")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	size, err := queryInt(r, "size")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	p, err := a.log.InclusionProof(r.Context(), index, size)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"index": p.Index, "size": p.Size, "proof": p.Proof})
}

func (a *AuditArea) consistency(w http.ResponseWriter, r *http.Request) {
	old, err := queryInt(r, "old")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	size, err := queryInt(r, "size")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	p, err := a.log.ConsistencyProof(r.Context(), old, size)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"old": p.Old, "size": p.Size, "proof": p.Proof})
}

func (a *AuditArea) receipt(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	if len(id) > 64 {
		a.fail(w, r, problem.New(http.StatusBadRequest, "bad-request", "entry id too long"))
		return
	}
	rc, err := a.log.Receipt(r.Context(), id)
	if errors.Is(err, audit.ErrPending) {
		w.Header().Set("Retry-After", "1")
		WriteJSON(w, http.StatusAccepted, map[string]any{"id": id, "status": "pending"})
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, rc)
}
