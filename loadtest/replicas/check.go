package replicas

import (
	"bufio"
	"context"
	"crypto"
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Fault is a window during which the test script disturbed the service:
// from the fault until the service was whole again.
type Fault struct {
	Name  string    `json:"name"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Outside names the errors of operations that overlap no fault window.
const Outside = "outside"

// ReadFaults reads the script's fault windows: one per line, name, start
// and end (Unix seconds with a fraction) separated by tabs.
func ReadFaults(r io.Reader) ([]Fault, error) {
	var out []Fault
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 || f[0] == "" {
			return nil, fmt.Errorf("replicas: faults line %d: want name, start and end separated by tabs", n)
		}
		var ts [2]time.Time
		for i, s := range f[1:] {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || !(v > 0) || math.IsInf(v, 0) || v > 1e12 {
				return nil, fmt.Errorf("replicas: faults line %d: bad time %q", n, s)
			}
			sec, frac := math.Modf(v)
			ts[i] = time.Unix(int64(sec), int64(frac*1e9))
		}
		if ts[1].Before(ts[0]) {
			return nil, fmt.Errorf("replicas: faults line %d: ends before it starts", n)
		}
		out = append(out, Fault{Name: f[0], Start: ts[0], End: ts[1]})
	}
	return out, sc.Err()
}

// window names the fault window op overlaps, or Outside.
func window(op Op, faults []Fault) string {
	for _, f := range faults {
		if !op.Start.After(f.End) && !op.End.Before(f.Start) {
			return f.Name
		}
	}
	return Outside
}

// OpStats are one operation's counts and latencies (successful calls).
type OpStats struct {
	Count  int     `json:"count"`
	Errors int     `json:"errors"`
	P50MS  float64 `json:"p50_ms"`
	P99MS  float64 `json:"p99_ms"`
}

// Report is the outcome of the replica fault test.
type Report struct {
	Scope string `json:"scope"`
	// Acknowledged counts the records the service acknowledged, by kind.
	Acknowledged map[string]int `json:"acknowledged"`
	// LostAcknowledged counts acknowledged records not in the database.
	LostAcknowledged int      `json:"lost_acknowledged"`
	Lost             []string `json:"lost,omitempty"`
	// RevocationStatusFailures counts revoked certificates that a replica
	// did not answer revoked in OCSP, or whose CRL shard on a replica does
	// not list them.
	RevocationStatusFailures int      `json:"revocation_status_failures"`
	RevocationStatusProblems []string `json:"revocation_status_problems,omitempty"`
	RevocationChecks         int      `json:"revocation_checks"`
	// ErrorsOutsideFaults counts failed operations that overlap no fault
	// window; ErrorsByWindow counts them all by window.
	ErrorsOutsideFaults int                 `json:"errors_outside_faults"`
	ErrorsByWindow      map[string]int      `json:"errors_by_window"`
	ErrorSamples        map[string][]string `json:"error_samples,omitempty"`
	// InternalErrors counts answers 500 in any window: an HSM outage or
	// a lost replica is a 503 or a retry, never an internal error.
	InternalErrors int                `json:"internal_errors"`
	FaultWindows   []Fault            `json:"fault_windows"`
	Operations     int                `json:"operations"`
	ByOperation    map[string]OpStats `json:"by_operation"`
	// Latency is over every successful operation.
	Latency       OpStats `json:"latency"`
	LoadSeconds   float64 `json:"load_seconds"`
	Replicas      int     `json:"replicas"`
	AuditVerifies bool    `json:"audit_verifies"`
	// HSMRecoveries sums the replicas' session pool recoveries (their
	// kyso_hsm_recoveries_total): the HSM restart reached them.
	HSMRecoveries int `json:"hsm_recoveries"`
	// KilledReplicaRequests counts the API requests the replica served
	// before it was killed: it was in the load.
	KilledReplicaRequests int `json:"killed_replica_requests"`
}

// Failures says why the test fails; none means it passes.
func (r *Report) Failures() []string {
	var out []string
	if r.LostAcknowledged > 0 {
		out = append(out, fmt.Sprintf("%d acknowledged records lost", r.LostAcknowledged))
	}
	if r.RevocationStatusFailures > 0 {
		out = append(out, fmt.Sprintf("%d revocation status checks failed", r.RevocationStatusFailures))
	}
	if r.ErrorsOutsideFaults > 0 {
		out = append(out, fmt.Sprintf("%d errors outside the fault windows", r.ErrorsOutsideFaults))
	}
	if r.InternalErrors > 0 {
		out = append(out, fmt.Sprintf("%d answers 500 internal error", r.InternalErrors))
	}
	if !r.AuditVerifies {
		out = append(out, "the audit log does not verify")
	}
	if r.KilledReplicaRequests == 0 {
		out = append(out, "the killed replica had served no request: the kill did not hit the load")
	}
	if r.HSMRecoveries == 0 {
		out = append(out, "no replica recovered its HSM sessions: the HSM restart did not reach them")
	}
	for _, k := range Kinds {
		if r.Acknowledged[k] == 0 {
			out = append(out, "no "+strings.ReplaceAll(k, "_", " ")+" acknowledged")
		}
	}
	return out
}

// Text is the report's summary.
func (r *Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "replicas test: %d replicas, %d operations in %.0f s\n", r.Replicas, r.Operations, r.LoadSeconds)
	fmt.Fprintf(&b, "acknowledged: ")
	for i, k := range Kinds {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d %s", r.Acknowledged[k], strings.ReplaceAll(k, "_", " "))
	}
	fmt.Fprintf(&b, "\nlost acknowledged: %d\nrevoked certificates checked in OCSP and CRL on every replica: %d, failures %d\n",
		r.LostAcknowledged, r.RevocationChecks, r.RevocationStatusFailures)
	fmt.Fprintf(&b, "errors outside fault windows: %d (internal errors anywhere: %d)\n", r.ErrorsOutsideFaults, r.InternalErrors)
	for _, f := range r.FaultWindows {
		fmt.Fprintf(&b, "fault %s: %.1f s, %d errors\n", f.Name, f.End.Sub(f.Start).Seconds(), r.ErrorsByWindow[f.Name])
	}
	fmt.Fprintf(&b, "latency of successful operations: p50 %.0f ms, p99 %.0f ms\n", r.Latency.P50MS, r.Latency.P99MS)
	names := make([]string, 0, len(r.ByOperation))
	for n := range r.ByOperation {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := r.ByOperation[n]
		fmt.Fprintf(&b, "  %-20s %5d ok %3d errors  p50 %6.0f ms  p99 %6.0f ms\n", n, s.Count-s.Errors, s.Errors, s.P50MS, s.P99MS)
	}
	fmt.Fprintf(&b, "API requests served by the killed replica before the kill: %d\n", r.KilledReplicaRequests)
	fmt.Fprintf(&b, "HSM session pool recoveries on the replicas: %d\naudit log verifies: %v\n", r.HSMRecoveries, r.AuditVerifies)
	for _, e := range r.ErrorSamples[Outside] {
		fmt.Fprintf(&b, "error outside the fault windows: %s\n", e)
	}
	if f := r.Failures(); len(f) > 0 {
		fmt.Fprintf(&b, "FAILED: %s\n", strings.Join(f, "; "))
	} else {
		b.WriteString("PASSED\n")
	}
	return b.String()
}

// Summarise counts the operations: acknowledged records by kind, errors by
// window and latencies. It does not look anything up.
func Summarise(ops []Op, faults []Fault) *Report {
	r := &Report{Acknowledged: map[string]int{}, ErrorsByWindow: map[string]int{Outside: 0}, ErrorSamples: map[string][]string{},
		ByOperation: map[string]OpStats{}, FaultWindows: faults, Operations: len(ops)}
	for _, k := range Kinds {
		r.Acknowledged[k] = 0
	}
	for _, f := range faults {
		r.ErrorsByWindow[f.Name] = 0
	}
	var all []time.Duration
	per := map[string][]time.Duration{}
	var first, last time.Time
	for _, op := range ops {
		if first.IsZero() || op.Start.Before(first) {
			first = op.Start
		}
		if op.End.After(last) {
			last = op.End
		}
		s := r.ByOperation[op.Name]
		s.Count++
		if op.Err != "" {
			s.Errors++
			w := window(op, faults)
			r.ErrorsByWindow[w]++
			if w == Outside {
				r.ErrorsOutsideFaults++
			}
			if strings.Contains(op.Err, "HTTP 500") {
				r.InternalErrors++
			}
			if len(r.ErrorSamples[w]) < 5 {
				r.ErrorSamples[w] = append(r.ErrorSamples[w], op.Name+": "+op.Err)
			}
		} else {
			d := op.End.Sub(op.Start)
			all = append(all, d)
			per[op.Name] = append(per[op.Name], d)
			for _, rec := range op.Records {
				r.Acknowledged[rec.Kind]++
			}
		}
		r.ByOperation[op.Name] = s
	}
	for n, ds := range per {
		s := r.ByOperation[n]
		s.P50MS, s.P99MS = percentileMS(ds, 0.50), percentileMS(ds, 0.99)
		r.ByOperation[n] = s
	}
	r.Latency = OpStats{Count: len(ops), Errors: len(ops) - len(all), P50MS: percentileMS(all, 0.50), P99MS: percentileMS(all, 0.99)}
	if !first.IsZero() {
		r.LoadSeconds = math.Round(last.Sub(first).Seconds()*10) / 10
	}
	return r
}

// percentileMS is the nearest-rank percentile p of ds in milliseconds.
func percentileMS(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(math.Ceil(p*float64(len(s)))) - 1
	i = max(0, min(i, len(s)-1))
	return math.Round(float64(s[i].Microseconds())/100) / 10
}

// CheckOptions say where to look the records up.
type CheckOptions struct {
	// DB is the replicas' database (SQLite or PostgreSQL).
	DB *sql.DB
	// Replicas are the base URLs of each replica, reached directly.
	Replicas []string
	// HTTP is the client (default: 30 s timeout).
	HTTP *http.Client
	// AuditVerifies is the outcome of kyso audit verify.
	AuditVerifies bool
	// HSMRecoveries is the sum of the replicas' kyso_hsm_recoveries_total.
	HSMRecoveries int
	// KilledReplicaRequests counts what the killed replica served first.
	KilledReplicaRequests int
}

// Check summarises ops and looks every acknowledged record up: in the
// database, and for revocations in OCSP and in the CRL shard of each
// replica.
func Check(ctx context.Context, ops []Op, faults []Fault, o CheckOptions) (*Report, error) {
	if o.DB == nil {
		return nil, errors.New("replicas: no database")
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	r := Summarise(ops, faults)
	r.Scope = "chip identity, remote-key and CSR enrolment, revocation, CSC signHash and JWS with citizens' remote keys, PDF seals (B-T), " +
		"the five dossier steps, through a load balancer to kyso serve replicas on PostgreSQL, the service keys behind p11-kit server; faults: replica SIGKILL and restart, HSM server restart"
	r.Replicas = len(o.Replicas)
	r.AuditVerifies = o.AuditVerifies
	r.HSMRecoveries = o.HSMRecoveries
	r.KilledReplicaRequests = o.KilledReplicaRequests
	lost := func(rec Record, why string) {
		r.LostAcknowledged++
		if len(r.Lost) < 50 {
			r.Lost = append(r.Lost, rec.Kind+" "+rec.ID+": "+why)
		}
	}
	st := &statusChecker{hc: o.HTTP, issuers: map[string]*x509.Certificate{}, crls: map[string]*x509.RevocationList{}}
	for _, op := range ops {
		if op.Err != "" {
			continue
		}
		for _, rec := range op.Records {
			var n int
			var err error
			switch rec.Kind {
			case KindCertificate:
				err = o.DB.QueryRowContext(ctx, `SELECT count(*) FROM ca_certificates WHERE serial = $1`, rec.ID).Scan(&n)
			case KindRevocation:
				// Revoked by the acknowledged call, not by a later one.
				err = o.DB.QueryRowContext(ctx, `SELECT count(*) FROM ca_certificates WHERE serial = $1 AND status = 'revoked' AND revoked_at <= $2`,
					rec.ID, op.End.UnixMilli()+1).Scan(&n)
			case KindSignature:
				err = o.DB.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM audit_log WHERE id = $1) + (SELECT count(*) FROM audit_pending WHERE id = $1)`, rec.ID).Scan(&n)
			case KindDossierStep:
				err = o.DB.QueryRowContext(ctx, `SELECT count(*) FROM dossier_events WHERE dossier_id = $1 AND to_state = $2`, rec.ID, rec.State).Scan(&n)
			default:
				err = fmt.Errorf("unknown kind %q", rec.Kind)
			}
			if err != nil {
				return nil, fmt.Errorf("replicas: look up %s %s: %w", rec.Kind, rec.ID, err)
			}
			if n == 0 {
				why := "not in the database"
				if rec.State != "" {
					why = "no event to state " + rec.State
				}
				lost(rec, why)
			}
			if rec.Kind != KindRevocation || n == 0 {
				continue
			}
			certPEM := rec.Certificate
			if certPEM == "" && n > 0 {
				// A revocation of a certificate whose enrolment answer was
				// lost: the certificate comes from the database.
				var der []byte
				if err := o.DB.QueryRowContext(ctx, `SELECT der FROM ca_certificates WHERE serial = $1`, rec.ID).Scan(&der); err != nil {
					return nil, fmt.Errorf("replicas: look up certificate %s: %w", rec.ID, err)
				}
				certPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
			}
			for _, base := range o.Replicas {
				r.RevocationChecks++
				if err := st.check(ctx, base, certPEM); err != nil {
					r.RevocationStatusFailures++
					if len(r.RevocationStatusProblems) < 50 {
						r.RevocationStatusProblems = append(r.RevocationStatusProblems, fmt.Sprintf("%s on %s: %v", rec.ID, base, err))
					}
				}
			}
		}
	}
	return r, nil
}

type statusChecker struct {
	hc      *http.Client
	issuers map[string]*x509.Certificate
	crls    map[string]*x509.RevocationList
}

// on rewrites a URL of the certificate (public_url, the balancer) to the
// replica at base.
func on(base, raw string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	u.Scheme, u.Host = b.Scheme, b.Host
	return u.String(), nil
}

func (s *statusChecker) get(ctx context.Context, method, u, contentType string, body io.Reader) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: HTTP %d", method, u, resp.StatusCode)
	}
	return b, nil
}

// check asks the replica at base for the certificate's status by OCSP and
// looks it up in its CRL shard there; both must say revoked.
func (s *statusChecker) check(ctx context.Context, base, certPEM string) error {
	blk, _ := pem.Decode([]byte(certPEM))
	if blk == nil {
		return errors.New("no certificate in the enrolment answer")
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return err
	}
	if len(cert.IssuingCertificateURL) == 0 || len(cert.CRLDistributionPoints) == 0 {
		return errors.New("the certificate names no issuer certificate or CRL")
	}
	iu, err := on(base, cert.IssuingCertificateURL[0])
	if err != nil {
		return err
	}
	issuer := s.issuers[iu]
	if issuer == nil {
		b, err := s.get(ctx, http.MethodGet, iu, "", nil)
		if err != nil {
			return fmt.Errorf("issuer certificate: %w", err)
		}
		if p, _ := pem.Decode(b); p != nil {
			b = p.Bytes
		}
		if issuer, err = x509.ParseCertificate(b); err != nil {
			return fmt.Errorf("issuer certificate: %w", err)
		}
		s.issuers[iu] = issuer
	}
	req, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: crypto.SHA1})
	if err != nil {
		return err
	}
	ou, err := on(base, "/ocsp")
	if err != nil {
		return err
	}
	b, err := s.get(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+"/ocsp", "application/ocsp-request", strings.NewReader(string(req)))
	if err != nil {
		return fmt.Errorf("OCSP: %w", err)
	}
	resp, err := ocsp.ParseResponseForCert(b, cert, issuer)
	if err != nil {
		return fmt.Errorf("OCSP %s: %w", ou, err)
	}
	if resp.Status != ocsp.Revoked {
		return fmt.Errorf("OCSP answers status %d, not revoked", resp.Status)
	}
	cu, err := on(base, cert.CRLDistributionPoints[0])
	if err != nil {
		return err
	}
	list := s.crls[cu]
	if list == nil {
		b, err := s.get(ctx, http.MethodGet, cu, "", nil)
		if err != nil {
			return fmt.Errorf("CRL: %w", err)
		}
		if list, err = x509.ParseRevocationList(b); err != nil {
			return fmt.Errorf("CRL %s: %w", cu, err)
		}
		if err := list.CheckSignatureFrom(issuer); err != nil {
			return fmt.Errorf("CRL %s: %w", cu, err)
		}
		s.crls[cu] = list
	}
	for _, e := range list.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			return nil
		}
	}
	return fmt.Errorf("CRL %s does not list it", cu)
}
