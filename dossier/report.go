package dossier

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"time"

	"kyso/auth"
)

// ReportQuery selects the period of a report: dossiers submitted in
// [From, To).
type ReportQuery struct {
	From, To time.Time
}

// StepMedians are median durations of the steps in seconds; nil when no
// dossier of the row went through the step.
type StepMedians struct {
	// Receive is submitted → received, Process received → processed
	// (first approve/deny), Sign processed → result signed, Return
	// result signed → returned.
	Receive *int64 `json:"receive"`
	Process *int64 `json:"process"`
	Sign    *int64 `json:"sign"`
	Return  *int64 `json:"return"`
}

// ReportRow holds the five-step figures of one agency, one level or the
// whole scope.
type ReportRow struct {
	Scope      string `json:"scope"` // "agency", "level" or "total"
	AgencyCode string `json:"agency_code,omitempty"`
	AgencyName string `json:"agency_name,omitempty"`
	Level      Level  `json:"level,omitempty"`
	ParentCode string `json:"parent_code,omitempty"`
	// ReceivedOnline counts dossiers submitted online in the period.
	ReceivedOnline int `json:"received_online"`
	// WithDigitized, ResultsSigned and ResultsReturned count those with
	// digitized inputs, an electronically signed result and a returned
	// e-result.
	WithDigitized   int `json:"with_digitized"`
	ResultsSigned   int `json:"results_signed"`
	ResultsReturned int `json:"results_returned"`
	// DigitizedShare and SignedShare are over ReceivedOnline,
	// ReturnedShare over ResultsSigned; 0 when the base is 0. Rounded to
	// four decimals.
	DigitizedShare float64 `json:"digitized_share"`
	SignedShare    float64 `json:"signed_share"`
	ReturnedShare  float64 `json:"returned_share"`
	// MedianSeconds per step.
	MedianSeconds StepMedians `json:"median_seconds"`
}

// Report is the five-step report of a period. Agencies holds each agency's
// own dossiers, Levels sums the agencies of each level, Total everything in
// scope.
type Report struct {
	From        time.Time   `json:"from"`
	To          time.Time   `json:"to"`
	GeneratedAt time.Time   `json:"generated_at"`
	Agencies    []ReportRow `json:"agencies"`
	Levels      []ReportRow `json:"levels"`
	Total       ReportRow   `json:"total"`
}

// FiveStepReport computes the report for the agencies p may oversee:
// everything for officers and admins, the agency's subtree for an agency
// principal.
func (s *Service) FiveStepReport(ctx context.Context, p *auth.Principal, q ReportQuery) (*Report, error) {
	if p == nil {
		return nil, auth.ErrForbidden
	}
	if q.From.IsZero() || q.To.IsZero() || !q.From.Before(q.To) {
		return nil, invalid("the period needs from before to")
	}
	all, err := s.agencies.List(ctx)
	if err != nil {
		return nil, err
	}
	var scope []Agency
	switch p.Role {
	case auth.RoleOfficer, auth.RoleAdmin:
		scope = all
	case auth.RoleAgency:
		scope = Subtree(all, p.AgencyCode)
	default:
		return nil, auth.ErrForbidden
	}
	inScope := map[string]bool{}
	for _, ag := range scope {
		inScope[ag.Code] = true
	}
	rows, err := s.db.QueryContext(ctx, `SELECT agency_code, has_digitized, submitted_at, received_at, processed_at, result_signed_at, returned_at
		FROM dossiers WHERE submitted_at >= $1 AND submitted_at < $2`, q.From.UnixMilli(), q.To.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("dossier: report: %w", err)
	}
	defer rows.Close()
	byAgency := map[string]*acc{}
	for rows.Next() {
		var code string
		var dig, sub, rec, proc, signed, ret int64
		if err := rows.Scan(&code, &dig, &sub, &rec, &proc, &signed, &ret); err != nil {
			return nil, fmt.Errorf("dossier: report: %w", err)
		}
		if !inScope[code] {
			continue
		}
		a := byAgency[code]
		if a == nil {
			a = &acc{}
			byAgency[code] = a
		}
		a.add(dig != 0, sub, rec, proc, signed, ret)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dossier: report: %w", err)
	}
	rep := &Report{From: q.From.UTC(), To: q.To.UTC(), GeneratedAt: s.clock()}
	levels := map[Level]*acc{}
	total := &acc{}
	for _, ag := range scope {
		a := byAgency[ag.Code]
		if a == nil {
			a = &acc{}
		}
		row := a.row()
		row.Scope, row.AgencyCode, row.AgencyName, row.Level, row.ParentCode = "agency", ag.Code, ag.Name, ag.Level, ag.ParentCode
		rep.Agencies = append(rep.Agencies, row)
		if levels[ag.Level] == nil {
			levels[ag.Level] = &acc{}
		}
		levels[ag.Level].merge(a)
		total.merge(a)
	}
	sort.Slice(rep.Agencies, func(i, j int) bool {
		ri, rj := rep.Agencies[i].Level.rank(), rep.Agencies[j].Level.rank()
		if ri != rj {
			return ri < rj
		}
		return rep.Agencies[i].AgencyCode < rep.Agencies[j].AgencyCode
	})
	for _, l := range Levels() {
		if a, ok := levels[l]; ok {
			row := a.row()
			row.Scope, row.Level = "level", l
			rep.Levels = append(rep.Levels, row)
		}
	}
	rep.Total = total.row()
	rep.Total.Scope = "total"
	return rep, nil
}

// acc accumulates the figures of a set of dossiers.
type acc struct {
	received, digitized, signed, returned int
	receive, process, sign, ret           []int64
}

func (a *acc) add(digitized bool, sub, rec, proc, signed, ret int64) {
	a.received++
	if digitized {
		a.digitized++
	}
	if signed != 0 {
		a.signed++
	}
	if ret != 0 {
		a.returned++
	}
	step := func(dst *[]int64, from, to int64) {
		if from != 0 && to != 0 && to >= from {
			*dst = append(*dst, (to-from)/1000)
		}
	}
	step(&a.receive, sub, rec)
	step(&a.process, rec, proc)
	step(&a.sign, proc, signed)
	step(&a.ret, signed, ret)
}

func (a *acc) merge(b *acc) {
	a.received += b.received
	a.digitized += b.digitized
	a.signed += b.signed
	a.returned += b.returned
	a.receive = append(a.receive, b.receive...)
	a.process = append(a.process, b.process...)
	a.sign = append(a.sign, b.sign...)
	a.ret = append(a.ret, b.ret...)
}

func (a *acc) row() ReportRow {
	return ReportRow{
		ReceivedOnline: a.received, WithDigitized: a.digitized, ResultsSigned: a.signed, ResultsReturned: a.returned,
		DigitizedShare: share(a.digitized, a.received), SignedShare: share(a.signed, a.received), ReturnedShare: share(a.returned, a.signed),
		MedianSeconds: StepMedians{Receive: median(a.receive), Process: median(a.process), Sign: median(a.sign), Return: median(a.ret)},
	}
}

func share(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return math.Round(float64(n)/float64(of)*10000) / 10000
}

// median of whole seconds; the lower-rounded mean of the two middle values
// for an even count.
func median(v []int64) *int64 {
	if len(v) == 0 {
		return nil
	}
	s := append([]int64(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return &m
}

// CSVHeader is the first line of WriteCSV.
var CSVHeader = []string{"scope", "agency_code", "agency_name", "level", "parent_code", "from", "to",
	"received_online", "with_digitized", "results_signed", "results_returned",
	"digitized_share", "signed_share", "returned_share",
	"median_receive_s", "median_process_s", "median_sign_s", "median_return_s"}

// WriteCSV writes the report as CSV: a header, the agency rows, the level
// rows and the total. Empty median cells mean no dossier went through the
// step.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	rows := append(append(append([]ReportRow(nil), r.Agencies...), r.Levels...), r.Total)
	from, to := r.From.Format(time.RFC3339), r.To.Format(time.RFC3339)
	for _, row := range rows {
		rec := []string{row.Scope, row.AgencyCode, csvSafe(row.AgencyName), string(row.Level), row.ParentCode, from, to,
			strconv.Itoa(row.ReceivedOnline), strconv.Itoa(row.WithDigitized), strconv.Itoa(row.ResultsSigned), strconv.Itoa(row.ResultsReturned),
			strconv.FormatFloat(row.DigitizedShare, 'f', 4, 64), strconv.FormatFloat(row.SignedShare, 'f', 4, 64), strconv.FormatFloat(row.ReturnedShare, 'f', 4, 64),
			opt(row.MedianSeconds.Receive), opt(row.MedianSeconds.Process), opt(row.MedianSeconds.Sign), opt(row.MedianSeconds.Return)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func opt(v *int64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatInt(*v, 10)
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
		return "'" + s
	}
	return s
}
