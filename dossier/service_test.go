package dossier_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"kyso/audit"
	"kyso/audit/audittest"
	"kyso/auth"
	"kyso/dossier"
	"kyso/dossier/dossiertest"
	"kyso/problem"
	"kyso/store"
	"kyso/store/storetest"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	svc   *dossier.Service
	log   *audit.Log
	db    *store.DB
	key   *ecdsa.PrivateKey
	clock *clock
	// verifier is the audit log's key.
	verifier note.Verifier
}

func newEnv(t testing.TB, db *store.DB) *env {
	t.Helper()
	return newEnvWith(t, db, nil)
}

// newEnvWith is newEnv with a source of citizens' activity for the reports.
func newEnvWith(t testing.TB, db *store.DB, activity dossier.CitizenActivity) *env {
	t.Helper()
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
	signer, verifier := audittest.Key(t)
	log, err := audit.New(ctx, db, signer)
	if err != nil {
		t.Fatal(err)
	}
	log.SetClock(c.now)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	svc, err := dossier.New(ctx, dossier.Config{DB: db, Audit: log, EventKey: key, Sealer: dossiertest.NewFakeSealer(),
		Forms: dossiertest.AcceptForms{}, Now: c.now, Activity: activity})
	if err != nil {
		t.Fatal(err)
	}
	for _, ag := range []dossier.Agency{
		{Code: "UBND-HN", Name: "Ha Noi", Level: dossier.LevelProvince, Place: "Hà Nội"},
		{Code: "UBND-HN-BD", Name: "Ba Dinh", Level: dossier.LevelDistrict, ParentCode: "UBND-HN"},
		{Code: "UBND-HN-BD-PX", Name: "Phuc Xa", Level: dossier.LevelCommune, ParentCode: "UBND-HN-BD"},
		{Code: "UBND-HCM", Name: "Ho Chi Minh", Level: dossier.LevelProvince},
	} {
		if err := svc.Agencies().Upsert(ctx, ag); err != nil {
			t.Fatal(err)
		}
	}
	return &env{svc: svc, log: log, verifier: verifier, db: db, key: key, clock: c}
}

func citizen(id string) *auth.Principal {
	return &auth.Principal{Role: auth.RoleCitizen, Subject: id, Name: "Citizen " + id}
}

func staff(agency string) *auth.Principal {
	return &auth.Principal{Role: auth.RoleAgency, Subject: "p-" + agency, AgencyCode: agency}
}

var (
	alice   = citizen("001099012345")
	bob     = citizen("001099054321")
	hn      = staff("UBND-HN")
	hcm     = staff("UBND-HCM")
	officer = &auth.Principal{Role: auth.RoleOfficer, Subject: "officer-1"}
)

func (e *env) submit(t *testing.T, who *auth.Principal, agency string) *dossier.Dossier {
	t.Helper()
	d, err := e.svc.Submit(context.Background(), who, dossier.SubmitRequest{ProcedureCode: "1.001234", AgencyCode: agency,
		Form:        dossier.Form{JWS: "a.b.c"},
		Attachments: []dossier.FileInput{{Name: "id-card.jpg", ContentType: "image/jpeg", Data: []byte("jpeg bytes")}}})
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	return d
}

func code(err error) string {
	if p, ok := problem.As(err); ok {
		return p.Code
	}
	if err == nil {
		return ""
	}
	return "error: " + err.Error()
}

// step runs one named action on a dossier.
func (e *env) step(who *auth.Principal, id string, act dossier.Action) error {
	ctx := context.Background()
	var err error
	switch act {
	case dossier.ActReceive:
		_, err = e.svc.Receive(ctx, who, id, []dossier.FileInput{{Name: "scan-" + e.clock.now().Format("150405.000"), ContentType: "application/pdf", Data: []byte("%PDF-1.4 scan")}}, "")
	case dossier.ActRequestSupplement:
		_, err = e.svc.RequestSupplement(ctx, who, id, "please add the birth certificate")
	case dossier.ActSupplement:
		_, err = e.svc.Supplement(ctx, who, id, []dossier.FileInput{{Name: "birth-" + e.clock.now().Format("150405.000"), Data: []byte("x")}}, "")
	case dossier.ActReject:
		_, err = e.svc.Reject(ctx, who, id, "incomplete")
	case dossier.ActDecide:
		_, err = e.svc.Decide(ctx, who, id, dossier.DecisionApprove, "meets the conditions")
	case dossier.ActSignResult:
		_, err = e.svc.SignResult(ctx, who, id, nil)
	case dossier.ActReturn:
		_, err = e.svc.Return(ctx, who, id)
	case dossier.ActAcknowledge:
		_, err = e.svc.Acknowledge(ctx, who, id)
	default:
		err = errors.New("unknown action")
	}
	return err
}

var allActions = []dossier.Action{dossier.ActReceive, dossier.ActRequestSupplement, dossier.ActSupplement, dossier.ActReject,
	dossier.ActDecide, dossier.ActSignResult, dossier.ActReturn, dossier.ActAcknowledge}

func actor(act dossier.Action) *auth.Principal {
	if act == dossier.ActSupplement || act == dossier.ActAcknowledge {
		return alice
	}
	return hn
}

// paths reach each state from a fresh dossier.
var paths = map[dossier.State][]dossier.Action{
	dossier.StateSubmitted:           nil,
	dossier.StateReceived:            {dossier.ActReceive},
	dossier.StateSupplementRequested: {dossier.ActReceive, dossier.ActRequestSupplement},
	dossier.StateProcessed:           {dossier.ActReceive, dossier.ActDecide},
	dossier.StateResultSigned:        {dossier.ActReceive, dossier.ActDecide, dossier.ActSignResult},
	dossier.StateReturned:            {dossier.ActReceive, dossier.ActDecide, dossier.ActSignResult, dossier.ActReturn},
	dossier.StateAcknowledged:        {dossier.ActReceive, dossier.ActDecide, dossier.ActSignResult, dossier.ActReturn, dossier.ActAcknowledge},
	dossier.StateRejected:            {dossier.ActReject},
}

// Every action from every state either succeeds (when the machine allows
// it) or is a 409 illegal-transition carrying the current state, and
// nothing is recorded for a refused one.
func TestTransitionsFromEveryState(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		for _, st := range dossier.States() {
			for _, act := range allActions {
				d := e.submit(t, alice, "UBND-HN")
				for _, a := range paths[st] {
					e.clock.advance(time.Second)
					if err := e.step(actor(a), d.ID, a); err != nil {
						t.Fatalf("reach %s via %s: %v", st, a, err)
					}
				}
				before, err := e.svc.Get(ctx, officer, d.ID)
				if err != nil {
					t.Fatal(err)
				}
				if before.State != st {
					t.Fatalf("path reached %s, want %s", before.State, st)
				}
				err = e.step(actor(act), d.ID, act)
				after, _ := e.svc.Get(ctx, officer, d.ID)
				if dossier.Allowed(act, st) {
					if err != nil {
						t.Errorf("%s from %s: %v", act, st, err)
					}
					if len(after.Events) != len(before.Events)+1 || after.Version != before.Version+1 {
						t.Errorf("%s from %s: events %d→%d, version %d→%d", act, st, len(before.Events), len(after.Events), before.Version, after.Version)
					}
					continue
				}
				p, ok := problem.As(err)
				if !ok || p.Status != 409 || p.Code != "illegal-transition" || p.Extra["state"] != string(st) {
					t.Errorf("%s from %s: %v (problem %+v), want 409 illegal-transition with state", act, st, err, p)
				}
				if len(after.Events) != len(before.Events) || after.Version != before.Version || after.State != st {
					t.Errorf("%s from %s refused but recorded something", act, st)
				}
			}
		}
		audittest.Verify(t, e.log, e.verifier)
	})
}

func TestAllowedTable(t *testing.T) {
	want := map[dossier.Action][]dossier.State{
		dossier.ActReceive:           {dossier.StateSubmitted},
		dossier.ActRequestSupplement: {dossier.StateSubmitted, dossier.StateReceived, dossier.StateProcessed},
		dossier.ActSupplement:        {dossier.StateSupplementRequested},
		dossier.ActReject:            {dossier.StateSubmitted, dossier.StateReceived, dossier.StateSupplementRequested, dossier.StateProcessed},
		dossier.ActDecide:            {dossier.StateReceived, dossier.StateProcessed},
		dossier.ActSignResult:        {dossier.StateProcessed},
		dossier.ActReturn:            {dossier.StateResultSigned},
		dossier.ActAcknowledge:       {dossier.StateReturned},
	}
	for act, states := range want {
		for _, st := range dossier.States() {
			exp := false
			for _, s := range states {
				exp = exp || s == st
			}
			if got := dossier.Allowed(act, st); got != exp {
				t.Errorf("Allowed(%s, %s) = %v, want %v", act, st, got, exp)
			}
		}
	}
}

// Who may do what: the applicant and the agency in charge act, others get
// 404 (not theirs) or 403 (theirs to see, not to act on).
func TestAuthorization(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		d := e.submit(t, alice, "UBND-HN")
		admin := &auth.Principal{Role: auth.RoleAdmin, Subject: "admin-1"}
		cases := []struct {
			name string
			who  *auth.Principal
			act  dossier.Action
			code string
		}{
			{"other citizen acknowledges", bob, dossier.ActAcknowledge, "not-found"},
			{"other agency receives", hcm, dossier.ActReceive, "not-found"},
			{"officer receives", officer, dossier.ActReceive, "forbidden"},
			{"admin rejects", admin, dossier.ActReject, "forbidden"},
			{"applicant receives", alice, dossier.ActReceive, "forbidden"},
			{"agency acknowledges", hn, dossier.ActAcknowledge, "forbidden"},
			{"agency without code", &auth.Principal{Role: auth.RoleAgency, Subject: "x"}, dossier.ActReceive, "not-found"},
		}
		for _, tc := range cases {
			if got := code(e.step(tc.who, d.ID, tc.act)); got != tc.code {
				t.Errorf("%s: %s, want %s", tc.name, got, tc.code)
			}
		}
		for _, who := range []*auth.Principal{bob, hcm, staff("UBND-HN-BD")} {
			if _, err := e.svc.Get(ctx, who, d.ID); code(err) != "not-found" {
				t.Errorf("%s %s sees the dossier: %v", who.Role, who.Subject, err)
			}
			if _, err := e.svc.File(ctx, who, d.ID, "id-card.jpg"); code(err) != "not-found" {
				t.Errorf("%s reads a file: %v", who.Subject, err)
			}
		}
		for _, who := range []*auth.Principal{alice, hn, officer, admin} {
			if _, err := e.svc.Get(ctx, who, d.ID); err != nil {
				t.Errorf("%s %s: %v", who.Role, who.Subject, err)
			}
		}
		if _, err := e.svc.Submit(ctx, hn, dossier.SubmitRequest{ProcedureCode: "p", AgencyCode: "UBND-HN", Form: dossier.Form{JWS: "a.b.c"}}); code(err) != "forbidden" {
			t.Errorf("agency submits: %v", err)
		}
		if _, err := e.svc.Submit(ctx, alice, dossier.SubmitRequest{ProcedureCode: "p", AgencyCode: "NOPE", Form: dossier.Form{JWS: "a.b.c"}}); code(err) != "unknown-agency" {
			t.Errorf("unknown agency: %v", err)
		}
		for who, n := range map[*auth.Principal]int{alice: 1, bob: 0, hn: 1, hcm: 0, officer: 1} {
			page, err := e.svc.List(ctx, who, dossier.ListQuery{})
			if err != nil || len(page.Dossiers) != n {
				t.Errorf("list as %s: %v %d, want %d", who.Subject, err, len(page.Dossiers), n)
			}
		}
	})
}

// Two transitions racing on one dossier: exactly one wins, the other gets
// a 409, and the history holds one event for it.
func TestConcurrentTransitions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		for round := 0; round < 5; round++ {
			d := e.submit(t, alice, "UBND-HN")
			var wins, conflicts atomic.Int32
			var wg sync.WaitGroup
			for i := 0; i < 6; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					// Receiving twice is never legal, so exactly one may win.
					_, err := e.svc.Receive(ctx, hn, d.ID, []dossier.FileInput{{Name: fmt.Sprintf("scan-%d.pdf", i), Data: []byte("x")}}, "")
					switch p, _ := problem.As(err); {
					case err == nil:
						wins.Add(1)
					case p != nil && p.Status == 409:
						conflicts.Add(1)
					default:
						t.Errorf("unexpected error: %v", err)
					}
				}(i)
			}
			wg.Wait()
			if wins.Load() != 1 || conflicts.Load() != 5 {
				t.Fatalf("round %d: %d wins, %d conflicts", round, wins.Load(), conflicts.Load())
			}
			got, _ := e.svc.Get(ctx, officer, d.ID)
			if len(got.Events) != 2 || got.Version != 2 {
				t.Fatalf("round %d: %d events, version %d", round, len(got.Events), got.Version)
			}
		}
	})
}

// Events are sealed with the service key; an edited event or audit row is
// detected.
func TestSealsAndTamperDetection(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		d := e.submit(t, alice, "UBND-HN")
		for _, a := range paths[dossier.StateAcknowledged] {
			if err := e.step(actor(a), d.ID, a); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.svc.VerifyEvents(ctx, d.ID, &e.key.PublicKey); err != nil {
			t.Fatalf("verify events: %v", err)
		}
		other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err := e.svc.VerifyEvents(ctx, d.ID, &other.PublicKey); !errors.Is(err, dossier.ErrBadEventSeal) {
			t.Fatalf("verify with another key: %v", err)
		}
		if rep := audittest.Verify(t, e.log, e.verifier); rep.Entries != 6 {
			t.Fatalf("audit: %+v", rep)
		}
		if _, err := db.ExecContext(ctx, "UPDATE dossier_events SET details = $1 WHERE dossier_id = $2 AND seq = 5", `{"decision":"deny"}`, d.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.VerifyEvents(ctx, d.ID, &e.key.PublicKey); !errors.Is(err, dossier.ErrBadEventSeal) {
			t.Fatalf("edited event not detected: %v", err)
		}
		if _, err := db.ExecContext(ctx, "UPDATE audit_log SET actor = $1 WHERE idx = 2", "someone-else"); err != nil {
			t.Fatal(err)
		}
		rep, err := e.log.Verify(ctx, audit.VerifyOptions{Verifier: e.verifier})
		if err != nil || rep.Divergence == nil || rep.Divergence.Index != 2 {
			t.Fatalf("tampered audit row not detected: %v %+v", err, rep)
		}
	})
}

func TestSealFailureRecordsNothing(t *testing.T) {
	db := storetest.SQLite(t)
	e := newEnv(t, db)
	ctx := context.Background()
	sealer := dossiertest.NewFakeSealer()
	svc, err := dossier.New(ctx, dossier.Config{DB: db, Audit: e.log, EventKey: e.key, Sealer: sealer, Forms: dossiertest.AcceptForms{}})
	if err != nil {
		t.Fatal(err)
	}
	d := e.submit(t, alice, "UBND-HN")
	sealer.Fail = errors.New("hsm unavailable")
	if _, err := svc.Receive(ctx, hn, d.ID, []dossier.FileInput{{Name: "scan.pdf", Data: []byte("x")}}, ""); err == nil {
		t.Fatal("receive succeeded without a seal")
	}
	got, _ := svc.Get(ctx, hn, d.ID)
	if got.State != dossier.StateSubmitted || len(got.Events) != 1 || len(got.Files) != 1 {
		t.Fatalf("after failed seal: %s, %d events, %d files", got.State, len(got.Events), len(got.Files))
	}
}

func TestValidation(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	ctx := context.Background()
	base := dossier.SubmitRequest{ProcedureCode: "1.0001", AgencyCode: "UBND-HN", Form: dossier.Form{JWS: "a.b.c"}}
	big := make([]byte, dossier.DefaultLimits().MaxFileBytes+1)
	cases := []struct {
		name string
		mod  func(r *dossier.SubmitRequest)
		code string
	}{
		{"ok", func(r *dossier.SubmitRequest) {}, ""},
		{"no form", func(r *dossier.SubmitRequest) { r.Form = dossier.Form{} }, "invalid-request"},
		{"two forms", func(r *dossier.SubmitRequest) { r.Form.PDF = []byte("%PDF") }, "invalid-request"},
		{"bad procedure", func(r *dossier.SubmitRequest) { r.ProcedureCode = "a b" }, "invalid-request"},
		{"path in name", func(r *dossier.SubmitRequest) {
			r.Attachments = []dossier.FileInput{{Name: "../etc/passwd", Data: []byte("x")}}
		}, "invalid-request"},
		{"empty file", func(r *dossier.SubmitRequest) { r.Attachments = []dossier.FileInput{{Name: "a.txt"}} }, "invalid-request"},
		{"duplicate names", func(r *dossier.SubmitRequest) {
			r.Attachments = []dossier.FileInput{{Name: "a", Data: []byte("x")}, {Name: "a", Data: []byte("y")}}
		}, "invalid-request"},
		{"bad content type", func(r *dossier.SubmitRequest) {
			r.Attachments = []dossier.FileInput{{Name: "a", ContentType: "not a type", Data: []byte("x")}}
		}, "invalid-request"},
		{"too large", func(r *dossier.SubmitRequest) { r.Attachments = []dossier.FileInput{{Name: "a", Data: big}} }, "file-too-large"},
	}
	for _, tc := range cases {
		r := base
		tc.mod(&r)
		_, err := e.svc.Submit(ctx, alice, r)
		if got := code(err); got != tc.code {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.code)
		}
	}
	d := e.submit(t, alice, "UBND-HN")
	if _, err := e.svc.Receive(ctx, hn, d.ID, []dossier.FileInput{{Name: "id-card.jpg", Data: []byte("x")}}, ""); code(err) != "file-exists" {
		t.Errorf("receive with a taken name: %v", err)
	}
	if _, err := e.svc.Decide(ctx, hn, d.ID, "maybe", ""); code(err) != "invalid-request" {
		t.Errorf("unknown decision: %v", err)
	}
	if _, err := e.svc.RequestSupplement(ctx, hn, d.ID, ""); code(err) != "invalid-request" {
		t.Errorf("supplement request without note: %v", err)
	}
	if _, err := e.svc.Receive(ctx, hn, d.ID, nil, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Decide(ctx, hn, d.ID, dossier.DecisionNote, "checked"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SignResult(ctx, hn, d.ID, nil); code(err) != "illegal-transition" {
		t.Errorf("result after a note only (still received): %v", err)
	}
	if _, err := e.svc.Get(ctx, alice, "dos_notanid"); code(err) != "not-found" {
		t.Errorf("malformed id: %v", err)
	}
	if _, err := e.svc.List(ctx, alice, dossier.ListQuery{PageToken: "!!"}); code(err) != "invalid-request" {
		t.Errorf("bad page token: %v", err)
	}
}

func TestListPaging(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		var ids []string
		for i := 0; i < 7; i++ {
			e.clock.advance(time.Minute)
			ids = append(ids, e.submit(t, alice, "UBND-HN").ID)
		}
		e.clock.advance(time.Minute)
		if _, err := e.svc.Receive(ctx, hn, ids[2], nil, ""); err != nil {
			t.Fatal(err)
		}
		var got []string
		tok := ""
		for pages := 0; ; pages++ {
			page, err := e.svc.List(ctx, alice, dossier.ListQuery{PageSize: 3, PageToken: tok})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range page.Dossiers {
				got = append(got, d.ID)
			}
			if tok = page.NextPageToken; tok == "" {
				break
			}
			if pages > 5 {
				t.Fatal("paging does not end")
			}
		}
		if len(got) != 7 || got[0] != ids[6] || got[6] != ids[0] {
			t.Fatalf("pages %v, want newest first of %v", got, ids)
		}
		page, err := e.svc.List(ctx, hn, dossier.ListQuery{State: dossier.StateReceived})
		if err != nil || len(page.Dossiers) != 1 || page.Dossiers[0].ID != ids[2] {
			t.Fatalf("state filter: %v %+v", err, page)
		}
		start := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
		page, err = e.svc.List(ctx, officer, dossier.ListQuery{From: start.Add(2 * time.Minute), To: start.Add(4 * time.Minute)})
		if err != nil || len(page.Dossiers) != 2 {
			t.Fatalf("period filter: %v %d", err, len(page.Dossiers))
		}
		page, err = e.svc.List(ctx, officer, dossier.ListQuery{ProcedureCode: "other"})
		if err != nil || len(page.Dossiers) != 0 {
			t.Fatalf("procedure filter: %v %d", err, len(page.Dossiers))
		}
	})
}
