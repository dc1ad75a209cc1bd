package dossier

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"kyso/auth"
)

// ReportQuery selects the period of a report: dossiers submitted in
// [From, To).
type ReportQuery struct {
	From, To time.Time
	// Agency narrows the report to one agency and the agencies below it;
	// empty means everything the principal may oversee.
	Agency string
	// Bucket adds a time series to the report: BucketDay or BucketWeek;
	// empty means none.
	Bucket string
}

// Time series buckets, in Vietnam time (UTC+7): days from midnight, weeks
// from Monday midnight.
const (
	BucketDay  = "day"
	BucketWeek = "week"
)

// MaxSeriesPoints bounds a report's time series.
const MaxSeriesPoints = 400

// VietnamTime is the zone of report buckets (Indochina Time, no daylight
// saving).
var VietnamTime = time.FixedZone("ICT", 7*3600)

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
	// CertificatesIssued and CertificatesActive count citizens' free
	// signing certificates whose subject names the row's province: issued
	// in the period, and valid at its end. SignaturesCitizen counts the
	// signatures citizens of the province made with their remote
	// credentials in the period. Nil below the province level (a
	// certificate names a province only) and when the service has no
	// source for them.
	CertificatesIssued *int `json:"certificates_issued"`
	CertificatesActive *int `json:"certificates_active"`
	SignaturesCitizen  *int `json:"signatures_citizen"`
	// SignaturesSeal counts the signatures made with the agency's seal in
	// the period: e-results and digitized inputs it sealed, and seal
	// signatures through the signing API.
	SignaturesSeal int `json:"signatures_seal"`
}

// SeriesPoint holds the figures of one bucket of the time series, over the
// whole selection. Dossier figures count dossiers submitted in the bucket
// (so the bars add up to the period's figures); certificates and
// signatures count those made in the bucket.
type SeriesPoint struct {
	Start           time.Time   `json:"start"`
	ReceivedOnline  int         `json:"received_online"`
	WithDigitized   int         `json:"with_digitized"`
	ResultsSigned   int         `json:"results_signed"`
	ResultsReturned int         `json:"results_returned"`
	DigitizedShare  float64     `json:"digitized_share"`
	SignedShare     float64     `json:"signed_share"`
	ReturnedShare   float64     `json:"returned_share"`
	MedianSeconds   StepMedians `json:"median_seconds"`
	// CertificatesIssued and SignaturesCitizen are nil when the selection
	// holds no province.
	CertificatesIssued *int `json:"certificates_issued"`
	SignaturesCitizen  *int `json:"signatures_citizen"`
	SignaturesSeal     int  `json:"signatures_seal"`
}

// CitizenActivity is where the report finds citizens' certificates and
// signatures (kyso/activity reads them from the CA, credential and audit
// records).
type CitizenActivity interface {
	// CitizenActivity lists, for [from, to): certificates issued and
	// remote signatures made by citizens, each with the province its
	// certificate names; signatures made with agency seals through the
	// signing API; and per province the certificates valid at to.
	CitizenActivity(ctx context.Context, from, to time.Time) (*ActivityCounts, error)
}

// ActivityCounts is what a CitizenActivity returns.
type ActivityCounts struct {
	Issued     []ProvinceEvent
	Signatures []ProvinceEvent
	// Seals are seal signatures through the signing API, by agency code.
	Seals []AgencyEvent
	// Active counts certificates valid at the end of the period by the
	// province their subject names.
	Active map[string]int
}

// ProvinceEvent is one certificate or signature of a citizen, with the
// province (ST) its certificate names.
type ProvinceEvent struct {
	Province string
	At       time.Time
}

// AgencyEvent is one seal signature of an agency.
type AgencyEvent struct {
	Agency string
	At     time.Time
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
	// Agency and Bucket echo the query.
	Agency string `json:"agency,omitempty"`
	Bucket string `json:"bucket,omitempty"`
	// Series is the time series when the query asks for one.
	Series []SeriesPoint `json:"series,omitempty"`
}

// FiveStepReport computes the report for the agencies p may oversee:
// everything for officers and admins, the agency's subtree for an agency
// principal; q.Agency narrows it to a subtree within that scope.
func (s *Service) FiveStepReport(ctx context.Context, p *auth.Principal, q ReportQuery) (*Report, error) {
	if p == nil {
		return nil, auth.ErrForbidden
	}
	if q.From.IsZero() || q.To.IsZero() || !q.From.Before(q.To) {
		return nil, invalid("the period needs from before to")
	}
	scope, err := s.ReportScope(ctx, p)
	if err != nil {
		return nil, err
	}
	if q.Agency != "" {
		// An agency outside the principal's scope is answered like an
		// unknown one, so that the tree of other provinces stays hidden.
		if !slices.ContainsFunc(scope, func(a Agency) bool { return a.Code == q.Agency }) {
			return nil, ErrAgencyNotFound
		}
		scope = Subtree(scope, q.Agency)
	}
	series, err := newSeries(q)
	if err != nil {
		return nil, err
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
		if b := series.at(sub); b != nil {
			b.add(dig != 0, sub, rec, proc, signed, ret)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dossier: report: %w", err)
	}
	rows.Close()
	if err := s.sealSignatures(ctx, q, inScope, byAgency, series); err != nil {
		return nil, err
	}
	if err := s.citizenActivity(ctx, q, scope, byAgency, series); err != nil {
		return nil, err
	}
	rep := &Report{From: q.From.UTC(), To: q.To.UTC(), GeneratedAt: s.clock(), Agency: q.Agency, Bucket: q.Bucket}
	levels := map[Level]*acc{}
	total := &acc{}
	for _, ag := range scope {
		a := byAgency[ag.Code]
		if a == nil {
			a = &acc{}
		}
		if ag.Level == LevelProvince && s.activity != nil {
			a.citizen = true
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
	rep.Series = series.points(total.citizen)
	return rep, nil
}

// ReportScope lists the agencies p may oversee in reports: every agency for
// officers and admins, the agency's subtree for an agency principal.
func (s *Service) ReportScope(ctx context.Context, p *auth.Principal) ([]Agency, error) {
	if p == nil {
		return nil, auth.ErrForbidden
	}
	switch p.Role {
	case auth.RoleOfficer, auth.RoleAdmin:
		return s.agencies.List(ctx)
	case auth.RoleAgency:
		all, err := s.agencies.List(ctx)
		if err != nil {
			return nil, err
		}
		return Subtree(all, p.AgencyCode), nil
	default:
		return nil, auth.ErrForbidden
	}
}

// sealSignatures counts the seal signatures of the agencies in scope made
// in the period: e-results sealed and digitized inputs sealed.
func (s *Service) sealSignatures(ctx context.Context, q ReportQuery, inScope map[string]bool, byAgency map[string]*acc, series *series) error {
	count := func(query string) error {
		rows, err := s.db.QueryContext(ctx, query, q.From.UnixMilli(), q.To.UnixMilli())
		if err != nil {
			return fmt.Errorf("dossier: report: seal signatures: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var code string
			var at int64
			if err := rows.Scan(&code, &at); err != nil {
				return fmt.Errorf("dossier: report: seal signatures: %w", err)
			}
			if !inScope[code] {
				continue
			}
			accOf(byAgency, code).seals++
			if b := series.at(at); b != nil {
				b.seals++
			}
		}
		return rows.Err()
	}
	if err := count(`SELECT agency_code, result_signed_at FROM dossiers WHERE result_signed_at >= $1 AND result_signed_at < $2`); err != nil {
		return err
	}
	return count(`SELECT d.agency_code, f.added_at FROM dossier_files f JOIN dossiers d ON d.id = f.dossier_id
		WHERE f.seal IS NOT NULL AND f.added_at >= $1 AND f.added_at < $2`)
}

// citizenActivity adds citizens' certificates and signatures to the
// province agencies in scope whose name is the province a certificate
// names, and seal signatures through the signing API to their agency.
func (s *Service) citizenActivity(ctx context.Context, q ReportQuery, scope []Agency, byAgency map[string]*acc, series *series) error {
	if s.activity == nil {
		return nil
	}
	counts, err := s.activity.CitizenActivity(ctx, q.From, q.To)
	if err != nil {
		return fmt.Errorf("dossier: report: citizen activity: %w", err)
	}
	provinces := map[string]string{} // province key -> agency code
	inScope := map[string]bool{}
	for _, ag := range scope {
		inScope[ag.Code] = true
		if ag.Level == LevelProvince {
			provinces[ProvinceKey(ag.Name)] = ag.Code
		}
	}
	for _, ev := range counts.Issued {
		if code, ok := provinces[ProvinceKey(ev.Province)]; ok {
			accOf(byAgency, code).issued++
			if b := series.at(ev.At.UnixMilli()); b != nil {
				b.issued++
			}
		}
	}
	for _, ev := range counts.Signatures {
		if code, ok := provinces[ProvinceKey(ev.Province)]; ok {
			accOf(byAgency, code).citizenSigs++
			if b := series.at(ev.At.UnixMilli()); b != nil {
				b.citizenSigs++
			}
		}
	}
	for prov, n := range counts.Active {
		if code, ok := provinces[ProvinceKey(prov)]; ok {
			accOf(byAgency, code).active += n
		}
	}
	for _, ev := range counts.Seals {
		if inScope[ev.Agency] {
			accOf(byAgency, ev.Agency).seals++
			if b := series.at(ev.At.UnixMilli()); b != nil {
				b.seals++
			}
		}
	}
	if len(provinces) > 0 {
		series.citizen = true
	}
	return nil
}

func accOf(m map[string]*acc, code string) *acc {
	a := m[code]
	if a == nil {
		a = &acc{}
		m[code] = a
	}
	return a
}

// ProvinceKey folds a province's name for comparison: without diacritics,
// case, the words of its administrative rank ("tỉnh", "thành phố", "TP.")
// and a leading "UBND", so that "Thành phố Hà Nội" in a certificate and the
// agency "UBND TP. Ha Noi" name one province.
func ProvinceKey(name string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(name)) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case r == 'đ':
			b.WriteRune('d')
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		default:
			b.WriteRune(' ')
		}
	}
	words := strings.Fields(b.String())
	for len(words) > 0 {
		switch {
		case words[0] == "ubnd" || words[0] == "tinh" || words[0] == "tp":
			words = words[1:]
		case len(words) > 1 && words[0] == "thanh" && words[1] == "pho":
			words = words[2:]
		default:
			return strings.Join(words, " ")
		}
	}
	return ""
}

// series accumulates the report's time series.
type series struct {
	starts  []time.Time
	buckets []*acc
	citizen bool
}

func newSeries(q ReportQuery) (*series, error) {
	s := &series{}
	var step func(time.Time) time.Time
	var first time.Time
	from := q.From.In(VietnamTime)
	switch q.Bucket {
	case "":
		return s, nil
	case BucketDay:
		first = time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, VietnamTime)
		step = func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
	case BucketWeek:
		d := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, VietnamTime)
		first = d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
		step = func(t time.Time) time.Time { return t.AddDate(0, 0, 7) }
	default:
		return nil, invalid("bucket must be day or week")
	}
	for t := first; t.Before(q.To); t = step(t) {
		if len(s.starts) == MaxSeriesPoints {
			return nil, invalid("the period holds more than %d %ss: choose a shorter period or a longer bucket", MaxSeriesPoints, q.Bucket)
		}
		s.starts = append(s.starts, t)
		s.buckets = append(s.buckets, &acc{})
	}
	return s, nil
}

// at is the bucket of a time in Unix milliseconds, nil outside the series.
func (s *series) at(ms int64) *acc {
	if len(s.starts) == 0 {
		return nil
	}
	t := time.UnixMilli(ms)
	i := sort.Search(len(s.starts), func(i int) bool { return s.starts[i].After(t) }) - 1
	if i < 0 {
		return nil
	}
	return s.buckets[i]
}

func (s *series) points(citizen bool) []SeriesPoint {
	out := make([]SeriesPoint, 0, len(s.starts))
	for i, a := range s.buckets {
		a.citizen = citizen && s.citizen
		r := a.row()
		out = append(out, SeriesPoint{Start: s.starts[i].UTC(), ReceivedOnline: r.ReceivedOnline, WithDigitized: r.WithDigitized,
			ResultsSigned: r.ResultsSigned, ResultsReturned: r.ResultsReturned, DigitizedShare: r.DigitizedShare,
			SignedShare: r.SignedShare, ReturnedShare: r.ReturnedShare, MedianSeconds: r.MedianSeconds,
			CertificatesIssued: r.CertificatesIssued, SignaturesCitizen: r.SignaturesCitizen, SignaturesSeal: r.SignaturesSeal})
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// acc accumulates the figures of a set of dossiers.
type acc struct {
	received, digitized, signed, returned int
	receive, process, sign, ret           []int64
	seals                                 int
	// citizen says the figures include citizens' certificates and
	// signatures (a province, or a sum over provinces).
	citizen                     bool
	issued, active, citizenSigs int
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
	a.seals += b.seals
	a.citizen = a.citizen || b.citizen
	a.issued += b.issued
	a.active += b.active
	a.citizenSigs += b.citizenSigs
}

func (a *acc) row() ReportRow {
	r := ReportRow{
		ReceivedOnline: a.received, WithDigitized: a.digitized, ResultsSigned: a.signed, ResultsReturned: a.returned,
		DigitizedShare: share(a.digitized, a.received), SignedShare: share(a.signed, a.received), ReturnedShare: share(a.returned, a.signed),
		MedianSeconds:  StepMedians{Receive: median(a.receive), Process: median(a.process), Sign: median(a.sign), Return: median(a.ret)},
		SignaturesSeal: a.seals,
	}
	if a.citizen {
		issued, active, sigs := a.issued, a.active, a.citizenSigs
		r.CertificatesIssued, r.CertificatesActive, r.SignaturesCitizen = &issued, &active, &sigs
	}
	return r
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
	"median_receive_s", "median_process_s", "median_sign_s", "median_return_s",
	"certificates_issued", "certificates_active", "signatures_citizen", "signatures_seal"}

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
			opt(row.MedianSeconds.Receive), opt(row.MedianSeconds.Process), opt(row.MedianSeconds.Sign), opt(row.MedianSeconds.Return),
			optInt(row.CertificatesIssued), optInt(row.CertificatesActive), optInt(row.SignaturesCitizen), strconv.Itoa(row.SignaturesSeal)}
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

func optInt(v *int) string {
	if v == nil {
		return ""
	}
	return strconv.Itoa(*v)
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
		return "'" + s
	}
	return s
}
