package api

import (
	"log/slog"
	"net/http"

	"github.com/gorilla/mux"

	"kyso/identity/federation"
)

// FederationArea serves sign-in with OpenID Connect providers (VNeID): the
// browser flow's start and callback, and the app flow's token exchange
// (RFC 8693). All routes are public: the provider's ID token is the
// credential.
type FederationArea struct {
	rp  *federation.RP
	log *slog.Logger
}

// NewFederationArea returns the area for rp; with rp nil (no provider
// configured) every route answers 404 unknown-provider.
func NewFederationArea(rp *federation.RP, log *slog.Logger) *FederationArea {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &FederationArea{rp: rp, log: log}
}

// Routes registers the federation routes.
func (a *FederationArea) Routes(r *Router) {
	r.Handle(http.MethodGet, "/v1/identity/oidc/{provider}/start", Public, a.start, RateLimit(LimitIdentity))
	r.Handle(http.MethodGet, "/v1/identity/oidc/{provider}/callback", Public, a.callback, RateLimit(LimitIdentity))
	r.Handle(http.MethodPost, "/v1/identity/token-exchange", Public, a.exchange, MaxBody(32<<10), RateLimit(LimitIdentity))
}

func (a *FederationArea) start(w http.ResponseWriter, r *http.Request) {
	if a.rp == nil {
		failLogged(a.log, w, r, federation.ErrUnknownProvider)
		return
	}
	u, err := a.rp.Start(r.Context(), mux.Vars(r)["provider"], r.URL.Query().Get("redirect_uri"))
	if err != nil {
		failLogged(a.log, w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u, http.StatusFound)
}

func (a *FederationArea) callback(w http.ResponseWriter, r *http.Request) {
	if a.rp == nil {
		failLogged(a.log, w, r, federation.ErrUnknownProvider)
		return
	}
	u, err := a.rp.Callback(r.Context(), mux.Vars(r)["provider"], r.URL.Query())
	if err != nil {
		failLogged(a.log, w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, u, http.StatusFound)
}

func (a *FederationArea) exchange(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		failLogged(a.log, w, r, federation.ErrBadForm)
		return
	}
	if a.rp == nil {
		failLogged(a.log, w, r, federation.ErrUnknownProvider)
		return
	}
	res, err := a.rp.Exchange(r.Context(), r.PostForm)
	if err != nil {
		failLogged(a.log, w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, http.StatusOK, res)
}
