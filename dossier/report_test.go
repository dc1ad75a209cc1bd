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
