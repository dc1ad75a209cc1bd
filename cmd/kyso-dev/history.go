package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"kyso/audit"
	"kyso/cmd/internal/appenv"
	"kyso/dossier"
	"kyso/dossier/dossiertest"
)

// historyAgencies are the synthetic districts and communes of Ha Noi that
// the seeded history spreads over, beside the development agencies.
var historyAgencies = []dossier.Agency{
	{Code: "UBND-HN-BD-PX", Name: "Phường Phúc Xá", Level: dossier.LevelCommune, ParentCode: "UBND-HN-BD"},
	{Code: "UBND-HN-BD-TB", Name: "Phường Trúc Bạch", Level: dossier.LevelCommune, ParentCode: "UBND-HN-BD"},
	{Code: "UBND-HN-HK", Name: "Quận Hoàn Kiếm", Level: dossier.LevelDistrict, ParentCode: "UBND-HN"},
	{Code: "UBND-HN-HK-HB", Name: "Phường Hàng Bạc", Level: dossier.LevelCommune, ParentCode: "UBND-HN-HK"},
	{Code: "UBND-HN-HK-HT", Name: "Phường Hàng Trống", Level: dossier.LevelCommune, ParentCode: "UBND-HN-HK"},
	{Code: "UBND-HN-CG", Name: "Quận Cầu Giấy", Level: dossier.LevelDistrict, ParentCode: "UBND-HN"},
	{Code: "UBND-HN-CG-DV", Name: "Phường Dịch Vọng", Level: dossier.LevelCommune, ParentCode: "UBND-HN-CG"},
}

// seedHistory files a month of synthetic dossiers across Ha Noi's agencies
// so that the dashboard shows something on a new machine. The dossiers go
// through the dossier service's own steps with a clock set in the past;
// their forms are not checked and their results are sealed with a
// throw-away key, so none of them verifies as a real e-result.
func seedHistory(ctx context.Context, io stdio, configPath string, days int) error {
	e, err := appenv.Open(ctx, appenv.Options{ConfigPath: configPath, Environ: io.Env, LogTo: io.Err})
	if err != nil {
		return err
	}
	defer e.Close()
	log, err := audit.New(ctx, e.DB, nil) // appends only; the server's sequencer integrates them
	if err != nil {
		return err
	}
	var mu sync.Mutex
	now := time.Now()
	clock := now
	get := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	set := func(t time.Time) { mu.Lock(); clock = t; mu.Unlock() }
	log.SetClock(get)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	svc, err := dossier.New(ctx, dossier.Config{DB: e.DB, Audit: log, EventKey: key, Sealer: dossiertest.NewFakeSealer(),
		Forms: dossiertest.AcceptForms{}, Now: get, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	if err := dossier.SeedDemoAgencies(ctx, svc.Agencies()); err != nil {
		return err
	}
	codes := []string{}
	for _, ag := range dossier.DemoAgencies() {
		codes = append(codes, ag.Code)
	}
	for _, ag := range historyAgencies {
		if err := svc.Agencies().Upsert(ctx, ag); err != nil {
			return err
		}
		codes = append(codes, ag.Code)
	}
	vn := now.In(dossier.VietnamTime)
	start := time.Date(vn.Year(), vn.Month(), vn.Day(), 0, 0, 0, 0, dossier.VietnamTime).AddDate(0, 0, -days)
	n, err := dossiertest.SeedHistory(ctx, svc, dossiertest.History{Agencies: codes, Start: start, Days: days + 1, PerDay: 3,
		Seed: uint64(now.UnixNano()), SetClock: set, Until: now})
	if err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "seeded %d synthetic dossiers over %d days across %d agencies of Ha Noi (see /dashboard)\n", n, days+1, len(codes))
	return nil
}
