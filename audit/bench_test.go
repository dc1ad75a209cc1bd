package audit_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kyso/audit"
	"kyso/auth"
	"kyso/dossier"
	"kyso/dossier/dossiertest"
	"kyso/store"
	"kyso/store/storetest"
)

// BenchmarkAuditLog measures what the log costs the state changes that
// write to it: 16 writers commit state changes without the log, then the
// same changes with each change's entry written in its transaction while
// the sequencer runs (every 250 ms, as kyso serve does), four times each in
// alternating order, on SQLite and on PostgreSQL, for two workloads:
//
//   - dossier: Kyso's own state changes, steps of the five-step process
//     through the dossier service (submit, receive, request a supplement,
//     supplement, decide), each sealed by the service key, against the
//     same service with a log that writes nothing;
//   - minimal: the smallest change there is, one row updated and one
//     inserted, so that the log's own cost is as large a share as it can
//     be (a bound, not a workload Kyso has).
//
// It reports committed changes per second both ways, their ratio (goal:
// at least 0.8) and the 99th percentile of the time from a change's commit
// to the first signed checkpoint covering it (goal: under 2 s). Run with
// -benchtime 1x; BENCH_AUDIT_DURATION sets each phase's length (default
// 3s).
//
// Each phase counts the commits of its steady state: those that complete
// after its first second (the sequencer is then integrating the phase's
// own entries as fast as they come), divided by the time after that
// second. After a phase with the log, the sequencer finishes integrating
// what the phase left pending before anything else runs, so that the
// baseline pays for none of the log's work; the time that takes beyond
// the sequencer's next round is added to the phase's, so that a sequencer
// falling behind does not make the log look cheaper.
func BenchmarkAuditLog(b *testing.B) {
	phase := 3 * time.Second
	if d, err := time.ParseDuration(os.Getenv("BENCH_AUDIT_DURATION")); err == nil && d > 0 {
		phase = d
	}
	engines := []struct {
		name string
		open func(b *testing.B) *store.DB
	}{
		{"sqlite", func(b *testing.B) *store.DB {
			db, err := store.Open(context.Background(), "sqlite:"+filepath.Join(b.TempDir(), "kyso.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Close() })
			return db
		}},
		{"postgres", func(b *testing.B) *store.DB { return storetest.Postgres(b) }},
	}
	workloads := []struct {
		name string
		new  func(b *testing.B, db *store.DB, l *audit.Log) func() change
	}{
		{"dossier", dossierChanges},
		{"minimal", minimalChanges},
	}
	for _, eng := range engines {
		for _, wl := range workloads {
			b.Run(eng.name+"/"+wl.name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					db := eng.open(b)
					s, _ := newKey(b, origin)
					l, err := audit.New(context.Background(), db, s)
					if err != nil {
						b.Fatal(err)
					}
					benchAuditLog(b, db, l, wl.new(b, db, l), phase)
				}
			})
		}
	}
}

const benchWriters = 16

// change commits one state change, with its audit entry when withLog, and
// returns the entry's id.
type change func(ctx context.Context, withLog bool) (string, error)

// minimalChanges: each change updates an object's row and inserts an
// event row.
func minimalChanges(b *testing.B, db *store.DB, l *audit.Log) func() change {
	ctx := context.Background()
	for _, q := range []string{"CREATE TABLE bench_objects (id BIGINT PRIMARY KEY, version BIGINT NOT NULL)",
		"CREATE TABLE bench_events (id TEXT PRIMARY KEY, object BIGINT NOT NULL, v BIGINT NOT NULL)"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	for o := 0; o < 1000; o++ {
		if _, err := db.ExecContext(ctx, "INSERT INTO bench_objects (id, version) VALUES ($1, 0)", o); err != nil {
			b.Fatal(err)
		}
	}
	var seq atomic.Int64
	return func() change {
		return func(ctx context.Context, withLog bool) (string, error) {
			k := seq.Add(1)
			id := audit.NewID()
			return id, db.InTx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, "UPDATE bench_objects SET version = version + 1 WHERE id = $1", k%1000); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, "INSERT INTO bench_events (id, object, v) VALUES ($1, $2, $3)", fmt.Sprint("s", k), k%1000, k); err != nil {
					return err
				}
				if !withLog {
					return nil
				}
				return l.AppendTx(ctx, tx, audit.Event{ID: id, Actor: "bench", Role: "system", Action: "bench.change", Object: fmt.Sprint("state:", k),
					Details: map[string]any{"v": k}})
			})
		}
	}
}

// noLog is an audit log that writes nothing.
type noLog struct{}

func (noLog) AppendTx(context.Context, *sql.Tx, audit.Event) error { return nil }
func (noLog) Append(context.Context, audit.Event) error            { return nil }
func (noLog) LatestID(context.Context, string, string) (string, error) {
	return "", nil
}

// dossierChanges: each writer walks dossiers of its own citizen through
// the process's first steps, one step per change, with the dossier service
// that writes to l or with one whose log writes nothing.
func dossierChanges(b *testing.B, db *store.DB, l *audit.Log) func() change {
	ctx := context.Background()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	svc := map[bool]*dossier.Service{}
	for _, withLog := range []bool{false, true} {
		var al dossier.AuditLog = noLog{}
		if withLog {
			al = l
		}
		s, err := dossier.New(ctx, dossier.Config{DB: db, Audit: al, EventKey: key, Sealer: dossiertest.NewFakeSealer(), Forms: dossiertest.AcceptForms{}})
		if err != nil {
			b.Fatal(err)
		}
		svc[withLog] = s
	}
	if err := svc[true].Agencies().Upsert(ctx, dossier.Agency{Code: "UBND-HN", Name: "Ha Noi", Level: dossier.LevelProvince, Place: "Hà Nội"}); err != nil {
		b.Fatal(err)
	}
	agency := &auth.Principal{Role: auth.RoleAgency, Subject: "p-UBND-HN", AgencyCode: "UBND-HN"}
	var writers atomic.Int64
	return func() change {
		w := writers.Add(1)
		citizen := &auth.Principal{Role: auth.RoleCitizen, Subject: fmt.Sprintf("0010990%05d", w), Name: "Citizen"}
		var id string
		step := 0
		file := func(name string) []dossier.FileInput {
			return []dossier.FileInput{{Name: name, ContentType: "application/pdf", Data: []byte("%PDF-1.4 scan of " + name)}}
		}
		return func(ctx context.Context, withLog bool) (string, error) {
			s := svc[withLog]
			var d *dossier.Dossier
			var err error
			switch step {
			case 0:
				d, err = s.Submit(ctx, citizen, dossier.SubmitRequest{ProcedureCode: "1.001234", AgencyCode: "UBND-HN",
					Form: dossier.Form{JWS: "a.b.c"}, Attachments: file("id-card.pdf")})
				if err == nil {
					id = d.ID
				}
			case 1:
				d, err = s.Receive(ctx, agency, id, file("scan.pdf"), "")
			case 2:
				d, err = s.RequestSupplement(ctx, agency, id, "please add the birth certificate")
			case 3:
				d, err = s.Supplement(ctx, citizen, id, file("birth.pdf"), "")
			case 4:
				d, err = s.Decide(ctx, agency, id, dossier.DecisionApprove, "meets the conditions")
			}
			if err != nil {
				return "", err
			}
			step = (step + 1) % 5
			return d.AuditEntry, nil
		}
	}
}

func benchAuditLog(b *testing.B, db *store.DB, l *audit.Log, newWriter func() change, phase time.Duration) {
	ctx := context.Background()
	writers := make([]change, benchWriters)
	for w := range writers {
		writers[w] = newWriter()
	}
	var (
		mu      sync.Mutex
		commits = map[string]time.Time{} // sampled entry id -> commit time
		seq     atomic.Int64
	)
	// waitPending waits until the sequencer has integrated everything.
	waitPending := func() {
		for {
			n, err := l.Pending(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if n == 0 {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	warm := min(time.Second, phase/2)
	const interval = 250 * time.Millisecond
	run := func(withLog bool) float64 {
		var n atomic.Int64
		start := time.Now()
		from, deadline := start.Add(warm), start.Add(phase)
		var wg sync.WaitGroup
		for w := 0; w < benchWriters; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					k := seq.Add(1)
					id, err := writers[w](ctx, withLog)
					if err != nil {
						b.Error(err)
						return
					}
					done := time.Now()
					if done.After(from) && !done.After(deadline) {
						n.Add(1)
					}
					if withLog && k%25 == 0 {
						mu.Lock()
						commits[id] = done
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		elapsed := phase - warm
		if withLog {
			// A sequencer that falls behind leaves work past the phase:
			// the time it takes beyond its next round counts.
			t0 := time.Now()
			waitPending()
			elapsed += max(0, time.Since(t0)-interval)
		}
		return float64(n.Load()) / elapsed.Seconds()
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = l.Run(sctx, audit.SequencerOptions{Interval: interval})
	}()
	// Rounds alternate the order (without, with; with, without; …), and
	// before each phase the database settles: the sequencer has caught up
	// and the previous phase's writes are checkpointed (and on PostgreSQL
	// vacuumed), so that no phase pays for the one before it.
	settle := func() {
		waitPending()
		qs := []string{"PRAGMA wal_checkpoint(TRUNCATE)"}
		if db.Dialect == store.Postgres {
			qs = []string{"VACUUM", "CHECKPOINT"}
		}
		for _, q := range qs {
			if _, err := db.ExecContext(ctx, q); err != nil {
				b.Fatalf("%s: %v", q, err)
			}
		}
	}
	const rounds = 4
	var base, logged float64
	for round := 0; round < rounds; round++ {
		for _, withLog := range []bool{round%2 == 1, round%2 == 0} {
			settle()
			if withLog {
				logged += run(true) / rounds
			} else {
				base += run(false) / rounds
			}
		}
	}
	waitPending()
	stop()
	<-done

	// Checkpoint latency: commit time to the signing of the first
	// checkpoint whose tree holds the entry.
	type cp struct{ size, at int64 }
	var cps []cp
	rows, err := db.QueryContext(ctx, "SELECT size, at FROM audit_checkpoints ORDER BY size")
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var c cp
		if err := rows.Scan(&c.size, &c.at); err != nil {
			b.Fatal(err)
		}
		cps = append(cps, c)
	}
	rows.Close()
	var lat []time.Duration
	for id, committed := range commits {
		var idx int64
		if err := db.QueryRowContext(ctx, "SELECT idx FROM audit_log WHERE id = $1", id).Scan(&idx); err != nil {
			b.Fatalf("sampled entry %s: %v", id, err)
		}
		i := sort.Search(len(cps), func(i int) bool { return cps[i].size > idx })
		if i == len(cps) {
			b.Fatalf("entry %d in no checkpoint", idx)
		}
		lat = append(lat, time.UnixMilli(cps[i].at).Sub(committed))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	var p99 time.Duration
	if len(lat) > 0 {
		p99 = lat[(len(lat)*99)/100]
	}
	b.ReportMetric(base, "changes/s-without-log")
	b.ReportMetric(logged, "changes/s-with-log")
	if base > 0 {
		b.ReportMetric(logged/base, "ratio")
	}
	b.ReportMetric(float64(p99.Milliseconds()), "ms-checkpoint-p99")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkSequence measures one integration round of the sequencer
// alone: 1000 pending entries (written beforehand, not timed) integrated
// into a tree that already holds entries, on SQLite and on PostgreSQL.
func BenchmarkSequence(b *testing.B) {
	const batch = 1000
	engines := []struct {
		name string
		open func(b *testing.B) *store.DB
	}{
		{"sqlite", func(b *testing.B) *store.DB {
			db, err := store.Open(context.Background(), "sqlite:"+filepath.Join(b.TempDir(), "kyso.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Close() })
			return db
		}},
		{"postgres", func(b *testing.B) *store.DB { return storetest.Postgres(b) }},
	}
	for _, eng := range engines {
		b.Run(eng.name, func(b *testing.B) {
			ctx := context.Background()
			db := eng.open(b)
			s, _ := newKey(b, origin)
			l, err := audit.New(ctx, db, s)
			if err != nil {
				b.Fatal(err)
			}
			opts := audit.SequencerOptions{Holder: "bench", Batch: batch}
			k := 0
			fill := func() {
				err := db.InTx(ctx, func(tx *sql.Tx) error {
					for i := 0; i < batch; i++ {
						k++
						if err := l.AppendTx(ctx, tx, audit.Event{Actor: "bench", Role: "system", Action: "bench.change",
							Object: fmt.Sprint("state:", k), Details: map[string]any{"v": k}}); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			fill()
			if _, err := l.Sequence(ctx, opts); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				fill()
				b.StartTimer()
				n, err := l.Sequence(ctx, opts)
				if err != nil {
					b.Fatal(err)
				}
				if n != batch {
					b.Fatalf("integrated %d of %d", n, batch)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*batch), "µs/entry")
		})
	}
}
