package dossier_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"kyso/auth"
	"kyso/dossier"
	"kyso/store"
	"kyso/store/storetest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// reportDataset files a fixed set of dossiers with a fixed clock: each
// entry is the agency, whether digitized inputs come with receipt, and
// how far the dossier goes with the minutes each step takes.
func reportDataset(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	type plan struct {
		agency    string
		digitized bool
		steps     []dossier.Action
		minutes   []int
	}
	full := []dossier.Action{dossier.ActReceive, dossier.ActDecide, dossier.ActSignResult, dossier.ActReturn, dossier.ActAcknowledge}
	plans := []plan{
		{"UBND-HN", true, full, []int{30, 120, 10, 5, 60}},
		{"UBND-HN", true, full, []int{60, 240, 20, 15, 60}},
		{"UBND-HN", false, full[:3], []int{90, 60, 30}},
		{"UBND-HN", false, []dossier.Action{dossier.ActReject}, []int{15}},
		{"UBND-HN-BD", true, full[:4], []int{10, 30, 5, 5}},
		{"UBND-HN-BD", false, full[:1], []int{45}},
		{"UBND-HN-BD-PX", true, full, []int{5, 10, 5, 5, 5}},
		{"UBND-HCM", true, full[:2], []int{20, 40}},
		{"UBND-HCM", false, nil, nil},
	}
	for i, p := range plans {
		e.clock.t = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour)
		d := e.submit(t, alice, p.agency)
		who := staff(p.agency)
		for j, act := range p.steps {
			e.clock.advance(time.Duration(p.minutes[j]) * time.Minute)
			var err error
			switch act {
			case dossier.ActReceive:
				var files []dossier.FileInput
				if p.digitized {
					files = []dossier.FileInput{{Name: "scan.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4")}}
				}
				_, err = e.svc.Receive(ctx, who, d.ID, files, "")
			case dossier.ActDecide:
				_, err = e.svc.Decide(ctx, who, d.ID, dossier.DecisionApprove, "")
			case dossier.ActAcknowledge:
				_, err = e.svc.Acknowledge(ctx, alice, d.ID)
			default:
				err = e.step(who, d.ID, act)
			}
			if err != nil {
				t.Fatalf("dossier %d %s: %v", i, act, err)
			}
		}
	}
	// Outside the period.
	e.clock.t = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	e.submit(t, alice, "UBND-HN")
	e.clock.t = time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./dossier -run Report -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n%s", name, got)
	}
}

func TestFiveStepReportGolden(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		reportDataset(t, e)
		ctx := context.Background()
		q := dossier.ReportQuery{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}
		rep, err := e.svc.FiveStepReport(ctx, officer, q)
		if err != nil {
			t.Fatal(err)
		}
		js, _ := json.MarshalIndent(rep, "", "  ")
		golden(t, "five-step.json", append(js, '\n'))
		var csv bytes.Buffer
		if err := rep.WriteCSV(&csv); err != nil {
			t.Fatal(err)
		}
		golden(t, "five-step.csv", csv.Bytes())

		// A district sees its own subtree only.
		rep, err = e.svc.FiveStepReport(ctx, staff("UBND-HN-BD"), q)
		if err != nil {
			t.Fatal(err)
		}
		csv.Reset()
		if err := rep.WriteCSV(&csv); err != nil {
			t.Fatal(err)
		}
		golden(t, "five-step-district.csv", csv.Bytes())

		if _, err := e.svc.FiveStepReport(ctx, alice, q); code(err) != "forbidden" {
			t.Errorf("citizen reads the report: %v", err)
		}
		if _, err := e.svc.FiveStepReport(ctx, &auth.Principal{Role: auth.RoleAdmin}, dossier.ReportQuery{From: q.To, To: q.From}); code(err) != "invalid-request" {
			t.Errorf("inverted period: %v", err)
		}
	})
}

// fixedActivity is a CitizenActivity with fixed answers.
type fixedActivity struct{ counts dossier.ActivityCounts }

func (f fixedActivity) CitizenActivity(_ context.Context, from, to time.Time) (*dossier.ActivityCounts, error) {
	out := dossier.ActivityCounts{Active: f.counts.Active}
	keep := func(at time.Time) bool { return !at.Before(from) && at.Before(to) }
	for _, ev := range f.counts.Issued {
		if keep(ev.At) {
			out.Issued = append(out.Issued, ev)
		}
	}
	for _, ev := range f.counts.Signatures {
		if keep(ev.At) {
			out.Signatures = append(out.Signatures, ev)
		}
	}
	for _, ev := range f.counts.Seals {
		if keep(ev.At) {
			out.Seals = append(out.Seals, ev)
		}
	}
	return &out, nil
}

// TestFiveStepReportActivityGolden fixes the certificate and signature
// figures, the narrowing to a subtree and the weekly series.
func TestFiveStepReportActivityGolden(t *testing.T) {
	day := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, time.UTC) }
	act := fixedActivity{dossier.ActivityCounts{
		Issued: []dossier.ProvinceEvent{
			{Province: "Thành phố Hà Nội", At: day(2, 9)}, {Province: "Hà Nội", At: day(3, 9)},
			{Province: "TP. Hồ Chí Minh", At: day(10, 9)}, {Province: "Đà Nẵng", At: day(10, 9)},
			{Province: "Hà Nội", At: day(31, 18)}, // 1 April in Vietnam time, still March in UTC
		},
		Signatures: []dossier.ProvinceEvent{
			{Province: "Hà Nội", At: day(4, 1)}, {Province: "Hà Nội", At: day(5, 1)}, {Province: "Hồ Chí Minh", At: day(20, 1)},
		},
		Seals:  []dossier.AgencyEvent{{Agency: "UBND-HN-BD", At: day(6, 1)}, {Agency: "UBND-HCM", At: day(7, 1)}},
		Active: map[string]int{"Hà Nội": 40, "Hồ Chí Minh": 7, "Đà Nẵng": 3},
	}}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnvWith(t, db, act)
		reportDataset(t, e)
		ctx := context.Background()
		q := dossier.ReportQuery{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), Bucket: dossier.BucketWeek}
		rep, err := e.svc.FiveStepReport(ctx, officer, q)
		if err != nil {
			t.Fatal(err)
		}
		js, _ := json.MarshalIndent(rep, "", "  ")
		golden(t, "five-step-activity.json", append(js, '\n'))

		// The series adds up to the period's figures.
		var received, seals, issued int
		for _, p := range rep.Series {
			received += p.ReceivedOnline
			seals += p.SignaturesSeal
			if p.CertificatesIssued != nil {
				issued += *p.CertificatesIssued
			}
		}
		if received != rep.Total.ReceivedOnline || seals != rep.Total.SignaturesSeal || rep.Total.CertificatesIssued == nil || issued != *rep.Total.CertificatesIssued {
			t.Errorf("series sums %d/%d/%d differ from the totals %+v", received, seals, issued, rep.Total)
		}

		// Narrowed to a district: no province in the selection, so no
		// citizen figures; daily buckets.
		q.Agency, q.Bucket = "UBND-HN-BD", dossier.BucketDay
		rep, err = e.svc.FiveStepReport(ctx, staff("UBND-HN"), q)
		if err != nil {
			t.Fatal(err)
		}
		js, _ = json.MarshalIndent(rep, "", "  ")
		golden(t, "five-step-activity-district.json", append(js, '\n'))

		// An agency head never reaches another province, nor learns
		// whether its agencies exist.
		q.Agency = "UBND-HCM"
		if _, err := e.svc.FiveStepReport(ctx, staff("UBND-HN"), q); code(err) != "not-found" {
			t.Errorf("Ha Noi reads Ho Chi Minh: %v", err)
		}
		q.Agency = "NO-SUCH"
		if _, err := e.svc.FiveStepReport(ctx, staff("UBND-HN"), q); code(err) != "not-found" {
			t.Errorf("unknown agency: %v", err)
		}
		q.Agency, q.Bucket = "", "hour"
		if _, err := e.svc.FiveStepReport(ctx, officer, q); code(err) != "invalid-request" {
			t.Errorf("hourly buckets: %v", err)
		}
		q.Bucket, q.From = dossier.BucketDay, q.To.AddDate(-5, 0, 0)
		if _, err := e.svc.FiveStepReport(ctx, officer, q); code(err) != "invalid-request" {
			t.Errorf("five years of days: %v", err)
		}
	})
}

func TestProvinceKey(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"Thành phố Hà Nội", "Ha Noi"},
		{"UBND TP. Hồ Chí Minh", "Hồ Chí Minh"},
		{"Tỉnh Đắk Lắk", "dak lak"},
		{"UBND tỉnh Quảng Ninh", "QUANG NINH"},
	} {
		if ka, kb := dossier.ProvinceKey(tc.a), dossier.ProvinceKey(tc.b); ka != kb || ka == "" {
			t.Errorf("ProvinceKey(%q) = %q, ProvinceKey(%q) = %q", tc.a, ka, tc.b, kb)
		}
	}
	if dossier.ProvinceKey("Hà Nam") == dossier.ProvinceKey("Hà Nội") {
		t.Error("Ha Nam and Ha Noi fold together")
	}
}
