package audit

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/mod/sumdb/note"

	"kyso/store"
	"kyso/store/storetest"
)

// A sequencer computes a round (hashes, signed checkpoint) outside any
// transaction; what it computed commits only if it still holds the lease
// and the tree is still the one it extended. These tests stop a round
// between its computation and its commit and let another sequencer move
// the log meanwhile.
func TestStaleRoundCommitsNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		skey, vkey, err := note.GenerateKey(rand.Reader, "kyso.test/audit")
		if err != nil {
			t.Fatal(err)
		}
		s, err := note.NewSigner(skey)
		if err != nil {
			t.Fatal(err)
		}
		v, err := note.NewVerifier(vkey)
		if err != nil {
			t.Fatal(err)
		}
		// Two replicas on one database, on one clock.
		var mu sync.Mutex
		now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
		a, err := New(ctx, db, s)
		if err != nil {
			t.Fatal(err)
		}
		b, err := New(ctx, db, s)
		if err != nil {
			t.Fatal(err)
		}
		a.SetClock(clock)
		b.SetClock(clock)
		optsA := SequencerOptions{Holder: "a", LeaseTTL: 3 * time.Second}
		optsB := SequencerOptions{Holder: "b", LeaseTTL: 3 * time.Second}
		add := func(n int) {
			t.Helper()
			for i := 0; i < n; i++ {
				if err := a.Append(ctx, Event{Actor: "officer-1", Role: "officer", Action: "certificate.revoke", Object: fmt.Sprint("cert:", i)}); err != nil {
					t.Fatal(err)
				}
			}
		}
		add(10)
		if n, err := a.Sequence(ctx, optsA); err != nil || n != 10 {
			t.Fatalf("first round: %d %v", n, err)
		}
		// While a holds the lease, b does not sequence.
		add(5)
		if _, err := b.Sequence(ctx, optsB); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("b beside a live lease: %v, want ErrNotLeader", err)
		}

		// a's lease expires while its round is computed; b takes over and
		// integrates the same entries: a's round commits nothing.
		a.afterPrepare = func() {
			advance(4 * time.Second)
			if n, err := b.Sequence(ctx, optsB); err != nil || n != 5 {
				t.Errorf("b taking over: %d %v", n, err)
			}
		}
		if n, err := a.Sequence(ctx, optsA); !errors.Is(err, ErrNotLeader) || n != 0 {
			t.Fatalf("a's stale round: %d %v, want ErrNotLeader", n, err)
		}
		a.afterPrepare = nil

		// b's round is computed, then another round of the same holder
		// (as after a restart) moves the tree: b's commits nothing.
		add(3)
		b2, err := New(ctx, db, s)
		if err != nil {
			t.Fatal(err)
		}
		b2.SetClock(clock)
		b.afterPrepare = func() {
			if n, err := b2.Sequence(ctx, optsB); err != nil || n != 3 {
				t.Errorf("b's second instance: %d %v", n, err)
			}
		}
		if n, err := b.Sequence(ctx, optsB); !errors.Is(err, ErrNotLeader) || n != 0 {
			t.Fatalf("round over a moved tree: %d %v, want ErrNotLeader", n, err)
		}
		b.afterPrepare = nil

		// Every entry is in the log exactly once, and the log verifies.
		if n, err := a.Pending(ctx); err != nil || n != 0 {
			t.Fatalf("pending after the rounds: %d %v", n, err)
		}
		rep, err := a.Verify(ctx, VerifyOptions{Verifier: v})
		if err != nil || rep.Divergence != nil || rep.Entries != 18 {
			t.Fatalf("verify: %+v %v", rep, err)
		}
		var ids, distinct int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*), COUNT(DISTINCT id) FROM audit_log").Scan(&ids, &distinct); err != nil || ids != 18 || distinct != 18 {
			t.Fatalf("log holds %d entries, %d distinct (%v)", ids, distinct, err)
		}
		var cps int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_checkpoints").Scan(&cps); err != nil || cps != 3 {
			t.Fatalf("%d checkpoints stored, want 3 (%v)", cps, err)
		}
	})
}

// Entries pending when the pending table is rebuilt (migration 003) are
// kept, in order, and sequenced afterwards.
func TestPendingSurvivesQueueMigration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		old := fstest.MapFS{}
		for _, name := range []string{"001_audit.sql", "002_merkle.sql"} {
			body, err := os.ReadFile("migrations/" + name)
			if err != nil {
				t.Fatal(err)
			}
			old[name] = &fstest.MapFile{Data: body}
		}
		if err := db.Migrate(ctx, "audit", old); err != nil {
			t.Fatal(err)
		}
		// Written by the previous version, which takes no signer here.
		prev := &Log{db: db, now: time.Now}
		var ids []string
		for i := 0; i < 5; i++ {
			id := NewID()
			ids = append(ids, id)
			if err := prev.Append(ctx, Event{ID: id, Actor: "officer-1", Role: "officer", Action: "certificate.revoke", Object: fmt.Sprint("cert:", i)}); err != nil {
				t.Fatal(err)
			}
		}
		skey, _, err := note.GenerateKey(rand.Reader, "kyso.test/audit")
		if err != nil {
			t.Fatal(err)
		}
		s, err := note.NewSigner(skey)
		if err != nil {
			t.Fatal(err)
		}
		l, err := New(ctx, db, s)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := l.Pending(ctx); err != nil || n != 5 {
			t.Fatalf("pending after the migration: %d %v", n, err)
		}
		if err := l.Append(ctx, Event{Actor: "officer-1", Role: "officer", Action: "certificate.revoke", Object: "cert:5"}); err != nil {
			t.Fatal(err)
		}
		if n, err := l.Sequence(ctx, SequencerOptions{Holder: "test"}); err != nil || n != 6 {
			t.Fatalf("sequenced %d %v", n, err)
		}
		entries, err := l.List(ctx, Filter{})
		if err != nil || len(entries) != 6 {
			t.Fatalf("list: %d %v", len(entries), err)
		}
		for i, id := range ids {
			if entries[i].ID != id || entries[i].Index != int64(i) {
				t.Fatalf("entry %d is %s at %d, want %s", i, entries[i].ID, entries[i].Index, id)
			}
		}
	})
}

// The public receipt look-up tells a pending entry from an unknown id
// through an index, not by scanning the pending table (which grows while
// no sequencer runs).
func TestPendingLookupUsesAnIndex(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	if _, err := New(ctx, db, nil); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM audit_pending WHERE id = $1", "x")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if len(plan) == 0 || !strings.Contains(strings.Join(plan, "; "), "USING COVERING INDEX audit_pending_by_id") {
		t.Fatalf("pending look-up by id: %q", plan)
	}
}
