package api

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"kyso/auth"
	"kyso/dossier"
	"kyso/problem"
	"kyso/web"
	"kyso/web/chart"
)

// Sessions signs dashboard users in and out (auth.Principals implements
// it).
type Sessions interface {
	ByToken(ctx context.Context, token string) (*auth.Principal, error)
	StartSession(ctx context.Context, p *auth.Principal, ttl time.Duration) (string, time.Time, error)
	EndSession(ctx context.Context, secret string) error
}

// DashboardArea serves the programme dashboard: the five-step report's
// figures for a period and a part of the agency tree, as a page with
// charts, for agency heads, officers and admins.
type DashboardArea struct {
	svc      *dossier.Service
	sessions Sessions
	tmpl     *template.Template
	log      *slog.Logger
}

// NewDashboardArea returns the dashboard over svc's reports.
func NewDashboardArea(svc *dossier.Service, sessions Sessions, log *slog.Logger) *DashboardArea {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tmpl := template.Must(template.New("dashboard").Funcs(template.FuncMap{
		"pct":      func(v float64) string { return strconv.FormatFloat(math.Round(v*1000)/10, 'f', -1, 64) + " %" },
		"duration": humanDuration,
		"intp": func(v *int) string {
			if v == nil {
				return "—"
			}
			return strconv.Itoa(*v)
		},
	}).ParseFS(web.Dashboard, "dashboard/*.html"))
	return &DashboardArea{svc: svc, sessions: sessions, tmpl: tmpl, log: log}
}

// Routes registers the dashboard pages.
func (a *DashboardArea) Routes(r *Router) {
	r.Handle(http.MethodGet, "/dashboard", Public, a.page, AcceptSession())
	r.Handle(http.MethodGet, "/dashboard/login", Public, a.loginForm)
	r.Handle(http.MethodPost, "/dashboard/login", Public, a.login, MaxBody(8<<10))
	r.Handle(http.MethodPost, "/dashboard/logout", Public, a.logout, AcceptSession(), MaxBody(8<<10))
}

func (a *DashboardArea) render(w http.ResponseWriter, status int, name string, data any) {
	htmlPage(w, a.log, a.tmpl, name, data, status,
		"default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'",
		"Cache-Control", "no-store", "Referrer-Policy", "same-origin")
}

type loginView struct {
	Error string
}

func (a *DashboardArea) loginForm(w http.ResponseWriter, r *http.Request) {
	a.render(w, http.StatusOK, "dashboard-login", loginView{})
}

// sameOrigin refuses form posts from another site: a browser sends Origin
// with every POST, and it must name this host.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return r.Header.Get("Sec-Fetch-Site") == "" || r.Header.Get("Sec-Fetch-Site") == "same-origin"
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

func (a *DashboardArea) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		a.render(w, http.StatusForbidden, "dashboard-login", loginView{Error: "Yêu cầu không đến từ trang này / The request did not come from this site."})
		return
	}
	if err := r.ParseForm(); err != nil {
		a.render(w, http.StatusBadRequest, "dashboard-login", loginView{Error: "Biểu mẫu không hợp lệ / The form could not be read."})
		return
	}
	token := strings.TrimSpace(r.PostForm.Get("token"))
	p, err := a.sessions.ByToken(r.Context(), token)
	if err == nil && p.Role == auth.RoleCitizen {
		err = auth.ErrForbidden
	}
	if err != nil {
		if !errors.Is(err, auth.ErrUnauthenticated) && !errors.Is(err, auth.ErrForbidden) {
			a.log.Error("dashboard sign-in", "err", err)
		}
		a.render(w, http.StatusUnauthorized, "dashboard-login", loginView{Error: "Mã truy cập không đúng / The access token is not valid."})
		return
	}
	secret, exp, err := a.sessions.StartSession(r.Context(), p, auth.SessionTTL)
	if err != nil {
		a.log.Error("dashboard session", "err", err)
		a.render(w, http.StatusServiceUnavailable, "dashboard-login", loginView{Error: "Không thể đăng nhập lúc này / Signing in failed; try again."})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: secret, Path: "/dashboard", Expires: exp,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
}

func (a *DashboardArea) logout(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		a.render(w, http.StatusForbidden, "dashboard-login", loginView{Error: "Yêu cầu không đến từ trang này / The request did not come from this site."})
		return
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		if err := a.sessions.EndSession(r.Context(), c.Value); err != nil {
			a.log.Error("dashboard sign-out", "err", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/dashboard", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/dashboard/login", http.StatusSeeOther)
}

// Period is the dashboard's choice of time.
type Period struct {
	Kind     string // month, quarter, year or custom
	From, To time.Time
	Label    string
	// Value is the form value of the period (2026-03, 2026-Q1, 2026, or
	// the custom dates).
	Value, FromDate, ToDate string
}

// parsePeriod reads period, month, quarter, year, from and to (dates in
// Vietnam time, to inclusive) with the current month as the default.
func parsePeriod(q url.Values, now time.Time) (Period, error) {
	now = now.In(dossier.VietnamTime)
	date := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, dossier.VietnamTime) }
	bad := func(f string, args ...any) (Period, error) {
		return Period{}, problem.Newf(http.StatusBadRequest, "invalid-request", f, args...)
	}
	kind := q.Get("period")
	if kind == "" {
		kind = "month"
	}
	p := Period{Kind: kind}
	switch kind {
	case "month":
		v := q.Get("month")
		if v == "" {
			v = now.Format("2006-01")
		}
		t, err := time.ParseInLocation("2006-01", v, dossier.VietnamTime)
		if err != nil {
			return bad("month must be YYYY-MM")
		}
		p.From, p.To, p.Value = t, t.AddDate(0, 1, 0), v
		p.Label = fmt.Sprintf("Tháng %d/%d", t.Month(), t.Year())
	case "quarter":
		v := q.Get("quarter")
		if v == "" {
			v = fmt.Sprintf("%d-Q%d", now.Year(), (int(now.Month())-1)/3+1)
		}
		var y, n int
		if _, err := fmt.Sscanf(v, "%d-Q%d", &y, &n); err != nil || n < 1 || n > 4 || y < 2000 || y > 9999 {
			return bad("quarter must be YYYY-Qn")
		}
		p.From = date(y, time.Month(3*(n-1)+1), 1)
		p.To, p.Value = p.From.AddDate(0, 3, 0), v
		p.Label = fmt.Sprintf("Quý %d/%d", n, y)
	case "year":
		v := q.Get("year")
		if v == "" {
			v = strconv.Itoa(now.Year())
		}
		y, err := strconv.Atoi(v)
		if err != nil || y < 2000 || y > 9999 {
			return bad("year must be YYYY")
		}
		p.From, p.To, p.Value = date(y, 1, 1), date(y+1, 1, 1), v
		p.Label = fmt.Sprintf("Năm %d", y)
	case "custom":
		f, err1 := time.ParseInLocation("2006-01-02", q.Get("from"), dossier.VietnamTime)
		t, err2 := time.ParseInLocation("2006-01-02", q.Get("to"), dossier.VietnamTime)
		if err1 != nil || err2 != nil || t.Before(f) {
			return bad("a custom period needs from and to as YYYY-MM-DD, from not after to")
		}
		p.From, p.To = f, t.AddDate(0, 0, 1)
		p.FromDate, p.ToDate = q.Get("from"), q.Get("to")
		p.Label = fmt.Sprintf("%s – %s", f.Format("02/01/2006"), t.Format("02/01/2006"))
	default:
		return bad("period must be month, quarter, year or custom")
	}
	if p.FromDate == "" {
		p.FromDate, p.ToDate = p.From.Format("2006-01-02"), p.To.AddDate(0, 0, -1).Format("2006-01-02")
	}
	return p, nil
}

// Bucket is a day for periods up to two months, a week beyond.
func (p Period) Bucket() string {
	if p.To.Sub(p.From) <= 62*24*time.Hour {
		return dossier.BucketDay
	}
	return dossier.BucketWeek
}

// TreeNode is an agency in the page's tree.
type TreeNode struct {
	dossier.Agency
	Selected bool
	Href     string
	Children []*TreeNode
}

// Figure is one headline number with its chart.
type Figure struct {
	ID, Label, English string
	Value              string
	// Raw is the number as the API gives it (for checks and screen
	// readers).
	Raw   string
	Note  string
	Chart template.HTML
	// Rows are the chart's values as a table, its text alternative.
	Rows [][]string
	Cols []string
}

// Column is a sortable column of the agency table.
type Column struct {
	Key, Label, English string
	Href                string
	Sorted, Desc        bool
}

type dashboardView struct {
	Principal *auth.Principal
	Period    Period
	Agency    *dossier.Agency
	Trail     []dossier.Agency
	Tree      []*TreeNode
	Total     dossier.ReportRow
	Figures   []Figure
	Medians   []Figure
	Columns   []Column
	Rows      []dossier.ReportRow
	ReportURL string
	Generated string
	// PeriodQuery carries the period's parameters into links.
	PeriodQuery template.URL
}

func (a *DashboardArea) page(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if p == nil {
		http.Redirect(w, r, "/dashboard/login", http.StatusSeeOther)
		return
	}
	if p.Role == auth.RoleCitizen {
		a.render(w, http.StatusForbidden, "dashboard-login", loginView{Error: "Trang này dành cho cơ quan và cán bộ / This page is for agencies and officers."})
		return
	}
	q := r.URL.Query()
	period, err := parsePeriod(q, a.svc.Now())
	if err != nil {
		a.fail(w, err)
		return
	}
	scope, err := a.svc.ReportScope(r.Context(), p)
	if err != nil {
		a.fail(w, err)
		return
	}
	selected := q.Get("agency")
	if selected == "" && p.Role == auth.RoleAgency {
		// An agency head starts at their own agency.
		selected = p.AgencyCode
	}
	rep, err := a.svc.FiveStepReport(r.Context(), p, dossier.ReportQuery{From: period.From, To: period.To, Agency: selected, Bucket: period.Bucket()})
	if err != nil {
		a.fail(w, err)
		return
	}
	v := dashboardView{Principal: p, Period: period, Total: rep.Total, Generated: rep.GeneratedAt.In(dossier.VietnamTime).Format("15:04 02/01/2006")}
	base := url.Values{}
	for _, k := range []string{"period", "month", "quarter", "year", "from", "to"} {
		if q.Get(k) != "" {
			base.Set(k, q.Get(k))
		}
	}
	v.PeriodQuery = template.URL(base.Encode())
	link := func(agency string, extra ...string) string {
		u := url.Values{}
		for k, vs := range base {
			u[k] = vs
		}
		if agency != "" {
			u.Set("agency", agency)
		}
		for i := 0; i+1 < len(extra); i += 2 {
			u.Set(extra[i], extra[i+1])
		}
		return "/dashboard?" + u.Encode()
	}
	byCode := map[string]dossier.Agency{}
	for _, ag := range scope {
		byCode[ag.Code] = ag
	}
	if selected != "" {
		ag := byCode[selected]
		v.Agency = &ag
		for c, depth := ag.ParentCode, 0; c != "" && depth < 8; depth++ {
			parent, ok := byCode[c]
			if !ok {
				break
			}
			v.Trail = append([]dossier.Agency{parent}, v.Trail...)
			c = parent.ParentCode
		}
	}
	v.Tree = tree(scope, selected, func(code string) string { return link(code) })
	v.ReportURL = "/v1/reports/five-step?" + url.Values{"from": {period.From.UTC().Format(time.RFC3339)}, "to": {period.To.UTC().Format(time.RFC3339)}, "agency": {selected}}.Encode()
	v.Figures, v.Medians = figures(rep, period.Bucket())
	v.Columns, v.Rows = agencyTable(rep, selected, byCode, q.Get("sort"), q.Get("dir"), func(sortKey, dir string) string {
		return link(selected, "sort", sortKey, "dir", dir)
	})
	a.render(w, http.StatusOK, "dashboard-page", v)
}

func (a *DashboardArea) fail(w http.ResponseWriter, err error) {
	status, msg := http.StatusInternalServerError, "Không thể lập báo cáo / The report could not be made."
	if p, ok := problem.As(err); ok && p.Status < 500 {
		status, msg = p.Status, p.Detail
	} else {
		a.log.Error("dashboard", "err", err)
	}
	a.render(w, status, "dashboard-login", loginView{Error: msg})
}

// tree nests the agencies in scope under their parents; roots are those
// whose parent is outside the scope.
func tree(scope []dossier.Agency, selected string, href func(string) string) []*TreeNode {
	nodes := map[string]*TreeNode{}
	for _, ag := range scope {
		nodes[ag.Code] = &TreeNode{Agency: ag, Selected: ag.Code == selected, Href: href(ag.Code)}
	}
	var roots []*TreeNode
	for _, ag := range scope {
		n := nodes[ag.Code]
		if parent, ok := nodes[ag.ParentCode]; ok {
			parent.Children = append(parent.Children, n)
		} else {
			roots = append(roots, n)
		}
	}
	var order func([]*TreeNode)
	order = func(ns []*TreeNode) {
		sort.Slice(ns, func(i, j int) bool { return ns[i].Name < ns[j].Name })
		for _, n := range ns {
			order(n.Children)
		}
	}
	order(roots)
	return roots
}

func bucketLabel(t time.Time, bucket string) string {
	t = t.In(dossier.VietnamTime)
	if bucket == dossier.BucketWeek {
		return "T. " + t.Format("02/01")
	}
	return t.Format("02/01")
}

// figures builds the headline figures and their charts from the report.
func figures(rep *dossier.Report, bucket string) ([]Figure, []Figure) {
	var labels []string
	for _, p := range rep.Series {
		labels = append(labels, bucketLabel(p.Start, bucket))
	}
	col := func(f func(dossier.SeriesPoint) float64) []float64 {
		out := make([]float64, len(rep.Series))
		for i, p := range rep.Series {
			out[i] = f(p)
		}
		return out
	}
	intOr := func(v *int) float64 {
		if v == nil {
			return 0
		}
		return float64(*v)
	}
	rate := func(n, of int) float64 {
		if of == 0 {
			return math.NaN()
		}
		return float64(n) / float64(of)
	}
	t := rep.Total
	unit := "ngày / day"
	if bucket == dossier.BucketWeek {
		unit = "tuần / week"
	}
	mk := func(id, label, english, value, raw, note string, c chart.Chart) Figure {
		c.Title, c.Desc = label+" / "+english, "Theo "+unit+" / per "+strings.TrimSpace(strings.SplitN(unit, "/", 2)[1])
		f := Figure{ID: id, Label: label, English: english, Value: value, Raw: raw, Note: note, Chart: c.SVG(), Cols: []string{"Kỳ / Period"}}
		for _, s := range c.Series {
			f.Cols = append(f.Cols, s.Name)
		}
		for i, l := range c.Labels {
			row := []string{l}
			for _, s := range c.Series {
				v := s.Values[i]
				switch {
				case math.IsNaN(v):
					row = append(row, "—")
				case c.Rate:
					row = append(row, strconv.FormatFloat(math.Round(v*1000)/10, 'f', -1, 64)+" %")
				default:
					row = append(row, strconv.FormatFloat(v, 'f', -1, 64))
				}
			}
			f.Rows = append(f.Rows, row)
		}
		return f
	}
	ip := func(v *int) (string, string) {
		if v == nil {
			return "—", ""
		}
		return strconv.Itoa(*v), strconv.Itoa(*v)
	}
	var figs []Figure
	certV, certRaw := ip(t.CertificatesIssued)
	activeV, _ := ip(t.CertificatesActive)
	certNote := "Đang hiệu lực / active: " + activeV
	if t.CertificatesIssued == nil {
		certNote = "Chứng thư số ghi tỉnh, không ghi cấp dưới / certificates name a province only"
	}
	figs = append(figs, mk("certificates_issued", "Chứng thư số miễn phí đã cấp", "Free certificates issued", certV, certRaw, certNote,
		chart.Chart{Labels: labels, Series: []chart.Series{{Name: "Cấp mới / issued", Class: "s1", Values: col(func(p dossier.SeriesPoint) float64 { return intOr(p.CertificatesIssued) })}}}))
	sigCit, _ := ip(t.SignaturesCitizen)
	citizens := 0
	if t.SignaturesCitizen != nil {
		citizens = *t.SignaturesCitizen
	}
	figs = append(figs, mk("signatures", "Chữ ký số đã thực hiện", "Signatures made", strconv.Itoa(citizens+t.SignaturesSeal), strconv.Itoa(citizens+t.SignaturesSeal),
		"Công dân / citizens: "+sigCit+" · Con dấu cơ quan / agency seals: "+strconv.Itoa(t.SignaturesSeal),
		chart.Chart{Labels: labels, Series: []chart.Series{
			{Name: "Công dân / citizens", Class: "s1", Values: col(func(p dossier.SeriesPoint) float64 { return intOr(p.SignaturesCitizen) })},
			{Name: "Con dấu / seals", Class: "s2", Values: col(func(p dossier.SeriesPoint) float64 { return float64(p.SignaturesSeal) })},
		}}))
	figs = append(figs, mk("received_online", "Hồ sơ tiếp nhận trực tuyến", "Dossiers received online", strconv.Itoa(t.ReceivedOnline), strconv.Itoa(t.ReceivedOnline), "",
		chart.Chart{Labels: labels, Series: []chart.Series{{Name: "Hồ sơ / dossiers", Class: "s1", Values: col(func(p dossier.SeriesPoint) float64 { return float64(p.ReceivedOnline) })}}}))
	pctS := func(v float64) string { return strconv.FormatFloat(math.Round(v*1000)/10, 'f', -1, 64) + " %" }
	raw := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	figs = append(figs, mk("digitized_share", "Tỷ lệ số hóa hồ sơ", "Digitized share", pctS(t.DigitizedShare), raw(t.DigitizedShare),
		fmt.Sprintf("%d / %d hồ sơ / dossiers", t.WithDigitized, t.ReceivedOnline),
		chart.Chart{Rate: true, Labels: labels, Series: []chart.Series{{Name: "Số hóa / digitized", Class: "s1", Values: col(func(p dossier.SeriesPoint) float64 { return rate(p.WithDigitized, p.ReceivedOnline) })}}}))
	figs = append(figs, mk("signed_share", "Tỷ lệ kết quả ký số", "Results signed electronically", pctS(t.SignedShare), raw(t.SignedShare),
		fmt.Sprintf("%d / %d hồ sơ / dossiers", t.ResultsSigned, t.ReceivedOnline),
		chart.Chart{Rate: true, Labels: labels, Series: []chart.Series{{Name: "Ký số / signed", Class: "s1", Values: col(func(p dossier.SeriesPoint) float64 { return rate(p.ResultsSigned, p.ReceivedOnline) })}}}))
	figs = append(figs, mk("returned_share", "Tỷ lệ trả kết quả điện tử", "Results returned electronically", pctS(t.ReturnedShare), raw(t.ReturnedShare),
		fmt.Sprintf("%d / %d kết quả / results", t.ResultsReturned, t.ResultsSigned),
		chart.Chart{Rate: true, Labels: labels, Series: []chart.Series{{Name: "Trả điện tử / returned", Class: "s2", Values: col(func(p dossier.SeriesPoint) float64 { return rate(p.ResultsReturned, p.ResultsSigned) })}}}))
	med := func(id, label, english string, v *int64) Figure {
		f := Figure{ID: id, Label: label, English: english, Value: humanDuration(v)}
		if v != nil {
			f.Raw = strconv.FormatInt(*v, 10)
		}
		return f
	}
	m := t.MedianSeconds
	hours := func(f func(dossier.StepMedians) *int64) []float64 {
		return col(func(p dossier.SeriesPoint) float64 {
			v := f(p.MedianSeconds)
			if v == nil {
				return math.NaN()
			}
			return math.Round(float64(*v)/360) / 10
		})
	}
	medChart := chart.Chart{Line: true, Unit: " h", Labels: labels, Series: []chart.Series{
		{Name: "Tiếp nhận / receive", Class: "s1", Values: hours(func(m dossier.StepMedians) *int64 { return m.Receive })},
		{Name: "Giải quyết / process", Class: "s2", Values: hours(func(m dossier.StepMedians) *int64 { return m.Process })},
		{Name: "Ký kết quả / sign", Class: "s3", Values: hours(func(m dossier.StepMedians) *int64 { return m.Sign })},
		{Name: "Trả kết quả / return", Class: "s4", Values: hours(func(m dossier.StepMedians) *int64 { return m.Return })},
	}}
	medFig := mk("medians", "Thời gian trung vị mỗi bước (giờ)", "Median time per step (hours)", "", "", "", medChart)
	meds := []Figure{
		med("median_receive", "Tiếp nhận", "Receive", m.Receive),
		med("median_process", "Giải quyết", "Process", m.Process),
		med("median_sign", "Ký kết quả", "Sign result", m.Sign),
		med("median_return", "Trả kết quả", "Return", m.Return),
	}
	meds[0].Chart, meds[0].Cols, meds[0].Rows = medFig.Chart, medFig.Cols, medFig.Rows
	return figs, meds
}

// humanDuration shows a median in the largest fitting unit.
func humanDuration(v *int64) string {
	if v == nil {
		return "—"
	}
	s := *v
	switch {
	case s < 3600:
		return fmt.Sprintf("%d phút / min", (s+30)/60)
	case s < 48*3600:
		return strconv.FormatFloat(math.Round(float64(s)/360)/10, 'f', -1, 64) + " giờ / h"
	default:
		return strconv.FormatFloat(math.Round(float64(s)/8640)/10, 'f', -1, 64) + " ngày / d"
	}
}

var tableColumns = []Column{
	{Key: "name", Label: "Cơ quan", English: "Agency"},
	{Key: "received_online", Label: "Hồ sơ trực tuyến", English: "Received online"},
	{Key: "digitized_share", Label: "Số hóa", English: "Digitized"},
	{Key: "signed_share", Label: "Ký số kết quả", English: "Signed"},
	{Key: "returned_share", Label: "Trả điện tử", English: "Returned"},
	{Key: "median_process", Label: "Giải quyết (trung vị)", English: "Median process"},
	{Key: "signatures_seal", Label: "Chữ ký con dấu", English: "Seal signatures"},
	{Key: "certificates_issued", Label: "Chứng thư cấp mới", English: "Certificates issued"},
}

// agencyTable lists the agencies just below the selection (the top of the
// scope without one), sorted as asked, by received dossiers by default.
func agencyTable(rep *dossier.Report, selected string, byCode map[string]dossier.Agency, key, dir string, href func(key, dir string) string) ([]Column, []dossier.ReportRow) {
	var rows []dossier.ReportRow
	for _, row := range rep.Agencies {
		if selected != "" && row.ParentCode == selected {
			rows = append(rows, row)
		}
		if selected == "" {
			if _, ok := byCode[row.ParentCode]; !ok {
				rows = append(rows, row)
			}
		}
	}
	valid := false
	for _, c := range tableColumns {
		valid = valid || c.Key == key
	}
	if !valid {
		key = "received_online"
	}
	desc := dir != "asc"
	if dir == "" && key == "name" {
		desc = false
	}
	val := func(r dossier.ReportRow) float64 {
		switch key {
		case "digitized_share":
			return r.DigitizedShare
		case "signed_share":
			return r.SignedShare
		case "returned_share":
			return r.ReturnedShare
		case "median_process":
			if r.MedianSeconds.Process == nil {
				return math.Inf(1)
			}
			return float64(*r.MedianSeconds.Process)
		case "signatures_seal":
			return float64(r.SignaturesSeal)
		case "certificates_issued":
			if r.CertificatesIssued == nil {
				return -1
			}
			return float64(*r.CertificatesIssued)
		default:
			return float64(r.ReceivedOnline)
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if key == "name" {
			if desc {
				return rows[i].AgencyName > rows[j].AgencyName
			}
			return rows[i].AgencyName < rows[j].AgencyName
		}
		vi, vj := val(rows[i]), val(rows[j])
		if vi == vj {
			return rows[i].AgencyName < rows[j].AgencyName
		}
		if desc {
			return vi > vj
		}
		return vi < vj
	})
	cols := make([]Column, len(tableColumns))
	for i, c := range tableColumns {
		c.Sorted = c.Key == key
		c.Desc = c.Sorted && desc
		next := "desc"
		if c.Sorted && desc {
			next = "asc"
		}
		if !c.Sorted && c.Key == "name" {
			next = "asc"
		}
		c.Href = href(c.Key, next)
		cols[i] = c
	}
	return cols, rows
}
