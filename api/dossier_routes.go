package api

import (
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"kyso/auth"
	"kyso/dossier"
	"kyso/problem"
)

// DossierArea serves the five-step process under /v1/dossiers and its
// report under /v1/reports.
type DossierArea struct {
	svc *dossier.Service
	log *slog.Logger
}

// NewDossierArea returns the area for svc.
func NewDossierArea(svc *dossier.Service, log *slog.Logger) *DossierArea {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &DossierArea{svc: svc, log: log}
}

// Routes registers the dossier and report routes.
func (a *DossierArea) Routes(r *Router) {
	citizen := Roles(auth.RoleCitizen)
	agency := Roles(auth.RoleAgency)
	readers := Roles(auth.RoleCitizen, auth.RoleAgency, auth.RoleOfficer, auth.RoleAdmin)
	r.Handle(http.MethodPost, "/v1/dossiers", citizen, a.submit)
	r.Handle(http.MethodGet, "/v1/dossiers", readers, a.list)
	r.Handle(http.MethodGet, "/v1/dossiers/{id}", readers, a.get)
	r.Handle(http.MethodPost, "/v1/dossiers/{id}/receive", agency, a.receive)
	r.Handle(http.MethodPost, "/v1/dossiers/{id}/request-supplement", agency, a.requestSupplement)
	r.Handle(http.MethodPost, "/v1/dossiers/{id}/supplement", citizen, a.supplement)
	r.Handle(http.MethodPost, "/v1/dossiers/{id}/reject", agency, a.reject)
	r.Handle(http.MethodPost, "/v1/dossiers/{id}/decisions", agency, a.decide)
	r.Handle(http.MethodPost, "/v1/dossiers/{id}/result", agency, a.signResult)
	r.Handle(http.MethodPost, "/v1/dossiers/{id}/return", agency, a.giveBack)
	r.Handle(http.MethodPost, "/v1/dossiers/{id}/acknowledge", citizen, a.acknowledge)
	r.Handle(http.MethodGet, "/v1/dossiers/{id}/attachments/{name}", readers, a.attachment)
	r.Handle(http.MethodGet, "/v1/dossiers/{id}/result", readers, a.result)
	a.reportRoutes(r)
}

func (a *DossierArea) fail(w http.ResponseWriter, r *http.Request, err error) {
	failLogged(a.log, w, r, err)
}

func principal(r *http.Request) *auth.Principal {
	p, _ := auth.FromContext(r.Context())
	return p
}

// fileJSON is a file sent inline, base64 in data.
type fileJSON struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Data        []byte `json:"data"`
}

func toInputs(in []fileJSON) []dossier.FileInput {
	out := make([]dossier.FileInput, len(in))
	for i, f := range in {
		out[i] = dossier.FileInput{Name: f.Name, ContentType: f.ContentType, Data: f.Data}
	}
	return out
}

func (a *DossierArea) submit(w http.ResponseWriter, r *http.Request) {
	var req dossier.SubmitRequest
	if isMultipart(r) {
		mp, err := readMultipart(r, a.svc.Limits())
		if err != nil {
			a.fail(w, r, err)
			return
		}
		req.ProcedureCode, req.AgencyCode = mp.fields["procedure_code"], mp.fields["agency_code"]
		req.Form.JWS = mp.fields["form_jws"]
		if pdf := mp.first("form", "form_pdf"); pdf != nil {
			req.Form.PDF = pdf.Data
		}
		req.Attachments = mp.files["attachments"]
	} else {
		var body struct {
			ProcedureCode string `json:"procedure_code"`
			AgencyCode    string `json:"agency_code"`
			Form          struct {
				JWS string `json:"jws"`
				PDF []byte `json:"pdf"`
			} `json:"form"`
			Attachments []fileJSON `json:"attachments"`
		}
		if err := DecodeJSON(r, &body); err != nil {
			a.fail(w, r, err)
			return
		}
		req = dossier.SubmitRequest{ProcedureCode: body.ProcedureCode, AgencyCode: body.AgencyCode,
			Form: dossier.Form{JWS: body.Form.JWS, PDF: body.Form.PDF}, Attachments: toInputs(body.Attachments)}
	}
	d, err := a.svc.Submit(r.Context(), principal(r), req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/dossiers/"+d.ID)
	WriteJSON(w, http.StatusCreated, viewDossier(d))
}

func (a *DossierArea) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lq := dossier.ListQuery{State: dossier.State(q.Get("state")), ProcedureCode: q.Get("procedure_code"),
		AgencyCode: q.Get("agency_code"), PageToken: q.Get("page_token")}
	var err error
	if lq.From, err = parseTime("from", q.Get("from"), false); err != nil {
		a.fail(w, r, err)
		return
	}
	if lq.To, err = parseTime("to", q.Get("to"), true); err != nil {
		a.fail(w, r, err)
		return
	}
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			a.fail(w, r, problem.New(http.StatusBadRequest, "invalid-request", "page_size must be a positive integer"))
			return
		}
		lq.PageSize = n
	}
	page, err := a.svc.List(r.Context(), principal(r), lq)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := struct {
		Dossiers      []dossierView `json:"dossiers"`
		NextPageToken string        `json:"next_page_token,omitempty"`
	}{Dossiers: []dossierView{}, NextPageToken: page.NextPageToken}
	for i := range page.Dossiers {
		out.Dossiers = append(out.Dossiers, viewDossier(&page.Dossiers[i]))
	}
	WriteJSON(w, http.StatusOK, out)
}

func (a *DossierArea) get(w http.ResponseWriter, r *http.Request) {
	d, err := a.svc.Get(r.Context(), principal(r), mux.Vars(r)["id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, viewDossier(d))
}

// filesBody reads files from multipart parts named by names, or from the
// JSON members named by names, with an optional note.
func (a *DossierArea) filesBody(r *http.Request, names ...string) ([]dossier.FileInput, string, error) {
	if isMultipart(r) {
		mp, err := readMultipart(r, a.svc.Limits())
		if err != nil {
			return nil, "", err
		}
		var files []dossier.FileInput
		for _, n := range names {
			files = append(files, mp.files[n]...)
		}
		return files, mp.fields["note"], nil
	}
	if emptyBody(r) {
		return nil, "", nil
	}
	var body struct {
		Digitized   []fileJSON `json:"digitized"`
		Attachments []fileJSON `json:"attachments"`
		Files       []fileJSON `json:"files"`
		Note        string     `json:"note"`
	}
	if err := DecodeJSON(r, &body); err != nil {
		return nil, "", err
	}
	var files []fileJSON
	for _, n := range names {
		switch n {
		case "digitized":
			files = append(files, body.Digitized...)
		case "attachments":
			files = append(files, body.Attachments...)
		case "files":
			files = append(files, body.Files...)
		}
	}
	if len(files) == 0 && len(body.Digitized)+len(body.Attachments)+len(body.Files) > 0 {
		return nil, "", problem.Newf(http.StatusBadRequest, "invalid-request", "send the files as %q", names[0])
	}
	return toInputs(files), body.Note, nil
}

func (a *DossierArea) receive(w http.ResponseWriter, r *http.Request) {
	files, note, err := a.filesBody(r, "digitized", "files")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r)(a.svc.Receive(r.Context(), principal(r), mux.Vars(r)["id"], files, note))
}

func (a *DossierArea) supplement(w http.ResponseWriter, r *http.Request) {
	files, note, err := a.filesBody(r, "attachments", "files")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r)(a.svc.Supplement(r.Context(), principal(r), mux.Vars(r)["id"], files, note))
}

type noteBody struct {
	Note     string `json:"note"`
	Reason   string `json:"reason"`
	Decision string `json:"decision"`
}

func (a *DossierArea) noteBody(r *http.Request) (noteBody, error) {
	var b noteBody
	if emptyBody(r) {
		return b, nil
	}
	err := DecodeJSON(r, &b)
	return b, err
}

func (a *DossierArea) requestSupplement(w http.ResponseWriter, r *http.Request) {
	b, err := a.noteBody(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r)(a.svc.RequestSupplement(r.Context(), principal(r), mux.Vars(r)["id"], b.Note))
}

func (a *DossierArea) reject(w http.ResponseWriter, r *http.Request) {
	b, err := a.noteBody(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	reason := b.Reason
	if reason == "" {
		reason = b.Note
	}
	a.reply(w, r)(a.svc.Reject(r.Context(), principal(r), mux.Vars(r)["id"], reason))
}

func (a *DossierArea) decide(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Decision     string `json:"decision"`
		Note         string `json:"note"`
		OfficerName  string `json:"officer_name"`
		OfficerTitle string `json:"officer_title"`
	}
	if err := DecodeJSON(r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	p := principal(r)
	officer := dossier.Officer{Name: b.OfficerName, Title: b.OfficerTitle}
	if officer.Name == "" && p != nil {
		officer.Name = p.Name
	}
	a.reply(w, r)(a.svc.DecideAs(r.Context(), p, mux.Vars(r)["id"], b.Decision, b.Note, officer))
}

func (a *DossierArea) signResult(w http.ResponseWriter, r *http.Request) {
	o, err := a.resultBody(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := resultStamp(r.URL.Query(), &o); err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r)(a.svc.SignResultWith(r.Context(), principal(r), mux.Vars(r)["id"], o))
}

// resultStamp reads the seal's stamp from the query: stamp=invisible, or
// stamp_page, stamp_x, stamp_y, stamp_width, stamp_height (points from the
// bottom-left corner). A JSON body's "stamp" member has the same effect.
func resultStamp(q url.Values, o *dossier.ResultOptions) error {
	switch q.Get("stamp") {
	case "":
	case "invisible":
		o.Invisible = true
	case "visible":
	default:
		return problem.New(http.StatusBadRequest, "bad-appearance", "stamp must be visible or invisible")
	}
	if q.Get("stamp_page") == "" && q.Get("stamp_x") == "" && q.Get("stamp_y") == "" && q.Get("stamp_width") == "" && q.Get("stamp_height") == "" {
		return nil
	}
	st := &dossier.Stamp{Page: 1, X: 36, Y: 36, Width: 220, Height: 64}
	if v := q.Get("stamp_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return problem.New(http.StatusBadRequest, "bad-appearance", "stamp_page must be a page number from 1")
		}
		st.Page = n
	}
	for _, f := range []struct {
		key string
		dst *float64
	}{{"stamp_x", &st.X}, {"stamp_y", &st.Y}, {"stamp_width", &st.Width}, {"stamp_height", &st.Height}} {
		if v := q.Get(f.key); v != "" {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				return problem.Newf(http.StatusBadRequest, "bad-appearance", "%s must be a number of points", f.key)
			}
			*f.dst = x
		}
	}
	o.Stamp = st
	return nil
}

// resultBody is the PDF to seal: a raw application/pdf body, a multipart
// part "pdf", JSON {"pdf": base64, "stamp": {...}}, or nothing (generate
// from the decision).
func (a *DossierArea) resultBody(r *http.Request) (dossier.ResultOptions, error) {
	var o dossier.ResultOptions
	switch {
	case emptyBody(r):
		return o, nil
	case isMultipart(r):
		mp, err := readMultipart(r, a.svc.Limits())
		if err != nil {
			return o, err
		}
		if f := mp.first("pdf", "result"); f != nil {
			o.PDF = f.Data
		}
		return o, nil
	case RequireContentType(r, "application/pdf") == nil:
		pdf, err := readLimited(r, a.svc.Limits().MaxResultBytes)
		o.PDF = pdf
		return o, err
	}
	var b struct {
		PDF   []byte `json:"pdf"`
		Stamp *struct {
			Page      int     `json:"page"`
			X         float64 `json:"x"`
			Y         float64 `json:"y"`
			Width     float64 `json:"width"`
			Height    float64 `json:"height"`
			Invisible bool    `json:"invisible"`
		} `json:"stamp"`
	}
	if err := DecodeJSON(r, &b); err != nil {
		return o, err
	}
	o.PDF = b.PDF
	if st := b.Stamp; st != nil {
		if st.Invisible {
			o.Invisible = true
		} else {
			o.Stamp = &dossier.Stamp{Page: st.Page, X: st.X, Y: st.Y, Width: st.Width, Height: st.Height}
		}
	}
	return o, nil
}

func (a *DossierArea) giveBack(w http.ResponseWriter, r *http.Request) {
	if _, err := a.noteBody(r); err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r)(a.svc.Return(r.Context(), principal(r), mux.Vars(r)["id"]))
}

func (a *DossierArea) acknowledge(w http.ResponseWriter, r *http.Request) {
	if _, err := a.noteBody(r); err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r)(a.svc.Acknowledge(r.Context(), principal(r), mux.Vars(r)["id"]))
}

func (a *DossierArea) reply(w http.ResponseWriter, r *http.Request) func(*dossier.Dossier, error) {
	return func(d *dossier.Dossier, err error) {
		if err != nil {
			a.fail(w, r, err)
			return
		}
		WriteJSON(w, http.StatusOK, viewDossier(d))
	}
}

func (a *DossierArea) attachment(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	f, err := a.svc.File(r.Context(), principal(r), v["id"], v["name"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", f.ContentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+f.Name+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Digest", "sha-256="+hexToB64(f.SHA256))
	w.Header().Set("Content-Length", strconv.Itoa(len(f.Data)))
	_, _ = w.Write(f.Data)
}

func (a *DossierArea) result(w http.ResponseWriter, r *http.Request) {
	pdf, d, err := a.svc.Result(r.Context(), principal(r), mux.Vars(r)["id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="`+d.ID+`-result.pdf"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Length", strconv.Itoa(len(pdf)))
	if d.AuditEntry != "" {
		// The receipt of the result's signing, which names its SHA-256.
		w.Header().Set(ReceiptHeader, d.AuditEntry)
		w.Header().Set("Link", "</v1/audit/receipts/"+d.AuditEntry+`>; rel="audit-receipt"`)
	}
	_, _ = w.Write(pdf)
}

// parseTime reads an RFC 3339 time or a date (YYYY-MM-DD, UTC). A date
// used as an upper bound means the end of that day.
func parseTime(name, v string, upper bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		if upper {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	return time.Time{}, problem.Newf(http.StatusBadRequest, "invalid-request", "%s must be an RFC 3339 time or a YYYY-MM-DD date", name)
}

// emptyBody reports a request without a body.
func emptyBody(r *http.Request) bool {
	return r.ContentLength == 0 || (r.ContentLength < 0 && r.Header.Get("Content-Type") == "" && r.Body == http.NoBody)
}
