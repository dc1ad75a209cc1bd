package dossier_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"kyso/audit/audittest"
	"kyso/auth"
	"kyso/dossier"
	"kyso/problem"
	"kyso/store"
	"kyso/store/storetest"
)

// A step whose PostgreSQL session is terminated inside its transaction,
// after its own writes, fails and leaves nothing behind: not the dossier
// row or files of a submission, not the version bump, event or files of a
// later step, not an audit row. The service keeps working on the same
// pool and the step succeeds when taken again.
//
// The test stops the step by holding a lock on the audit log's pending
// table, which a step writes to last; SQLite has no equivalent (its write lock is
// taken at BEGIN), so this runs on PostgreSQL only.
func TestStepLosesItsConnection(t *testing.T) {
	for _, tc := range []struct {
		name string
		from dossier.State // "" submits a new dossier
		act  dossier.Action
	}{
		{"submit", "", dossier.ActSubmit},
		{"receive", dossier.StateSubmitted, dossier.ActReceive},
		{"decide", dossier.StateReceived, dossier.ActDecide},
		{"sign-result", dossier.StateProcessed, dossier.ActSignResult},
		{"return", dossier.StateResultSigned, dossier.ActReturn},
		{"acknowledge", dossier.StateReturned, dossier.ActAcknowledge},
		{"request-supplement", dossier.StateReceived, dossier.ActRequestSupplement},
		{"supplement", dossier.StateSupplementRequested, dossier.ActSupplement},
		{"reject", dossier.StateSubmitted, dossier.ActReject},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := storetest.Postgres(t)
			e := newEnv(t, db)
			ctx := context.Background()
			var before *dossier.Dossier
			if tc.from != "" {
				before = e.submit(t, alice, "UBND-HN")
				for _, act := range paths[tc.from] {
					e.clock.advance(time.Second)
					if err := e.step(actor(act), before.ID, act); err != nil {
						t.Fatalf("%s: %v", act, err)
					}
				}
				before = get(t, e, before.ID)
			}
			dossiers, files := count(t, db, "dossiers"), count(t, db, "dossier_files")

			hold, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = hold.Rollback() }()
			var holder, head int64
			if err := hold.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&holder); err != nil {
				t.Fatal(err)
			}
			if _, err := hold.ExecContext(ctx, "LOCK TABLE audit_pending IN SHARE MODE"); err != nil {
				t.Fatal(err)
			}
			if err := hold.QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_pending").Scan(&head); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			e.clock.advance(time.Second)
			go func() {
				if tc.act == dossier.ActSubmit {
					_, err := e.svc.Submit(ctx, alice, dossier.SubmitRequest{ProcedureCode: "1.001234", AgencyCode: "UBND-HN",
						Form: dossier.Form{JWS: "a.b.c"}, Attachments: []dossier.FileInput{{Name: "lost.pdf", Data: []byte("x")}}})
					done <- err
					return
				}
				done <- e.step(actor(tc.act), before.ID, tc.act)
			}()
			victim := blockedOn(t, db, holder)
			var terminated bool
			if err := db.QueryRowContext(ctx, "SELECT pg_terminate_backend($1)", victim).Scan(&terminated); err != nil || !terminated {
				t.Fatalf("terminate session %d: %v %v", victim, terminated, err)
			}
			if err := <-done; err == nil {
				t.Fatal("the step succeeded without its connection")
			} else if _, ok := problem.As(err); ok {
				t.Fatalf("a lost connection answered as a client problem: %v", err)
			}
			if err := hold.Rollback(); err != nil {
				t.Fatal(err)
			}

			var headAfter int64
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_pending").Scan(&headAfter); err != nil {
				t.Fatal(err)
			}
			if headAfter != head {
				t.Errorf("audit log grew from %d to %d entries", head, headAfter)
			}
			if n := count(t, db, "dossiers"); n != dossiers {
				t.Errorf("%d dossiers, %d before", n, dossiers)
			}
			if n := count(t, db, "dossier_files"); n != files {
				t.Errorf("%d files, %d before", n, files)
			}
			if before != nil {
				after := get(t, e, before.ID)
				if after.State != before.State || after.Version != before.Version || len(after.Events) != len(before.Events) {
					t.Errorf("dossier: %s v%d with %d events before, %s v%d with %d events after",
						before.State, before.Version, len(before.Events), after.State, after.Version, len(after.Events))
				}
			}
			if t.Failed() {
				t.FailNow()
			}

			// Taken again on the same pool, the step goes through.
			e.clock.advance(time.Second)
			id := ""
			if tc.act == dossier.ActSubmit {
				id = e.submit(t, alice, "UBND-HN").ID
			} else {
				id = before.ID
				if err := e.step(actor(tc.act), id, tc.act); err != nil {
					t.Fatalf("%s again: %v", tc.act, err)
				}
			}
			d := get(t, e, id)
			if int64(len(d.Events)) != d.Version || d.Events[len(d.Events)-1].Action != tc.act {
				t.Fatalf("after the retry: v%d with %d events, last %s", d.Version, len(d.Events), d.Events[len(d.Events)-1].Action)
			}
			if err := e.svc.VerifyEvents(ctx, id, &e.key.PublicKey); err != nil {
				t.Fatal(err)
			}
			rep := audittest.Verify(t, e.log, e.verifier)
			if rep.Entries != head+1 {
				t.Fatalf("audit: %d entries, %d before the lost step", rep.Entries, head)
			}
		})
	}
}

// blockedOn waits until a session waits for a lock holder holds, and
// returns its process id.
func blockedOn(t *testing.T, db *store.DB, holder int64) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		var pid int64
		err := db.QueryRowContext(ctx, `SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND $1 = ANY(pg_blocking_pids(pid))`, holder).Scan(&pid)
		if err == nil {
			return pid
		}
		if !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("waiting for the step to block: %v", err)
		}
		select {
		case <-ctx.Done():
			t.Fatal("the step never reached the audit head")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func get(t *testing.T, e *env, id string) *dossier.Dossier {
	t.Helper()
	d, err := e.svc.Get(context.Background(), &auth.Principal{Role: auth.RoleOfficer, Subject: "check"}, id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func count(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
