package dossiertest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"kyso/auth"
	"kyso/dossier"
)

// History describes a synthetic history of dossiers: for each day from
// Start, each agency receives up to PerDay dossiers that go through the
// five steps with plausible delays, some stopping early, some rejected.
// The same Seed gives the same history.
type History struct {
	Agencies []string
	Start    time.Time
	Days     int
	PerDay   int
	Seed     uint64
	// SetClock moves the clock of the dossier service (its Config.Now)
	// before each step.
	SetClock func(time.Time)
	// Form is the form each citizen submits; a JWS the service's form
	// verifier accepts.
	Form dossier.Form
	// Until stops the history: no step is taken after it (zero: no end).
	Until time.Time
}

// SeedHistory files the history through svc's own operations (so every
// step is sealed, audited and counted as in service) and returns the
// number of dossiers filed.
func SeedHistory(ctx context.Context, svc *dossier.Service, h History) (int, error) {
	rng := rand.New(rand.NewPCG(h.Seed, h.Seed^0x9e3779b97f4a7c15))
	form := h.Form
	if form.JWS == "" && len(form.PDF) == 0 {
		form = dossier.Form{JWS: "a.b.c"}
	}
	n := 0
	for day := 0; day < h.Days; day++ {
		for _, agency := range h.Agencies {
			count := rng.IntN(h.PerDay + 1)
			for i := 0; i < count; i++ {
				at := h.Start.AddDate(0, 0, day).Add(time.Duration(7*60+rng.IntN(10*60)) * time.Minute)
				if err := seedOne(ctx, svc, h, rng, agency, at, form); err != nil {
					return n, fmt.Errorf("dossiertest: history day %d %s: %w", day, agency, err)
				}
				n++
			}
		}
	}
	return n, nil
}

func seedOne(ctx context.Context, svc *dossier.Service, h History, rng *rand.Rand, agency string, at time.Time, form dossier.Form) error {
	clock := at
	if !h.Until.IsZero() && clock.After(h.Until) {
		return nil
	}
	// tick moves the clock to the next step, false when that is past
	// Until.
	tick := func(maxMinutes int) bool {
		clock = clock.Add(time.Duration(5+rng.IntN(maxMinutes)) * time.Minute)
		h.SetClock(clock)
		return h.Until.IsZero() || !clock.After(h.Until)
	}
	h.SetClock(clock)
	citizen := &auth.Principal{Role: auth.RoleCitizen, Subject: fmt.Sprintf("0010990%05d", rng.IntN(100000))}
	staff := &auth.Principal{Role: auth.RoleAgency, Subject: "history-" + agency, AgencyCode: agency, Name: "Cán bộ một cửa"}
	d, err := svc.Submit(ctx, citizen, dossier.SubmitRequest{ProcedureCode: fmt.Sprintf("1.00%04d", 1000+rng.IntN(20)), AgencyCode: agency, Form: form})
	if err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	fate := rng.IntN(100)
	if fate < 5 { // never received in the period
		return nil
	}
	if !tick(240) {
		return nil
	}
	var scans []dossier.FileInput
	if rng.IntN(100) < 70 {
		scans = []dossier.FileInput{{Name: "scan.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4 synthetic scan")}}
	}
	if _, err := svc.Receive(ctx, staff, d.ID, scans, ""); err != nil {
		return fmt.Errorf("receive: %w", err)
	}
	if fate < 10 {
		if !tick(600) {
			return nil
		}
		_, err := svc.Reject(ctx, staff, d.ID, "hồ sơ chưa đầy đủ")
		return err
	}
	if !tick(3 * 24 * 60) {
		return nil
	}
	if _, err := svc.DecideAs(ctx, staff, d.ID, dossier.DecisionApprove, "đủ điều kiện", dossier.Officer{Name: "Trần Văn Bình", Title: "Phó Chủ tịch"}); err != nil {
		return fmt.Errorf("decide: %w", err)
	}
	if fate < 20 { // result still on paper
		return nil
	}
	if !tick(240) {
		return nil
	}
	if _, err := svc.SignResult(ctx, staff, d.ID, nil); err != nil {
		return fmt.Errorf("sign result: %w", err)
	}
	if fate < 30 {
		return nil
	}
	if !tick(120) {
		return nil
	}
	if _, err := svc.Return(ctx, staff, d.ID); err != nil {
		return fmt.Errorf("return: %w", err)
	}
	return nil
}
