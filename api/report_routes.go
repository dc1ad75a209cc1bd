package api

import (
	"bytes"
	"mime"
	"net/http"
	"strings"
	"time"

	"kyso/auth"
	"kyso/dossier"
	"kyso/problem"
)

// DefaultReportPeriod is the period of a report without from.
const DefaultReportPeriod = 30 * 24 * time.Hour

func (a *DossierArea) reportRoutes(r *Router) {
	r.Handle(http.MethodGet, "/v1/reports/five-step", Roles(auth.RoleAgency, auth.RoleOfficer, auth.RoleAdmin), a.fiveStepReport)
}

// fiveStepReport serves GET
// /v1/reports/five-step?from=&to=&agency=&bucket=day|week&format=json|csv.
func (a *DossierArea) fiveStepReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, err := parseTime("from", q.Get("from"), false)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	to, err := parseTime("to", q.Get("to"), true)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if to.IsZero() {
		to = a.svc.Now()
	}
	if from.IsZero() {
		from = to.Add(-DefaultReportPeriod)
	}
	format := q.Get("format")
	if format == "" {
		format = "json"
		for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
			if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/csv" {
				format = "csv"
			}
		}
	}
	if format != "json" && format != "csv" {
		a.fail(w, r, problem.New(http.StatusBadRequest, "invalid-request", "format must be json or csv"))
		return
	}
	rep, err := a.svc.FiveStepReport(r.Context(), principal(r), dossier.ReportQuery{From: from, To: to, Agency: q.Get("agency"), Bucket: q.Get("bucket")})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if format == "json" {
		WriteJSON(w, http.StatusOK, rep)
		return
	}
	var buf bytes.Buffer
	if err := rep.WriteCSV(&buf); err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="five-step-`+from.UTC().Format("20060102")+"-"+to.UTC().Format("20060102")+`.csv"`)
	_, _ = w.Write(buf.Bytes())
}
