package audit_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"

	"kyso/audit"
	"kyso/store"
	"kyso/store/storetest"
)

func newLog(t *testing.T, db *store.DB) (*audit.Log, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	l, err := audit.New(context.Background(), db, key)
	if err != nil {
		t.Fatal(err)
	}
	return l, key
}

func appendN(t *testing.T, l *audit.Log, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := l.Append(context.Background(), audit.Event{Actor: "officer-1", Role: "officer", Action: "certificate.revoke",
			Object: fmt.Sprintf("cert:%d", i), Details: map[string]any{"reason": "keyCompromise", "i": i}}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestChainVerifies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l, key := newLog(t, db)
		l.CheckpointEvery = 4
		// Concurrent appends keep a single unbroken chain.
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() { defer wg.Done(); appendN(t, l, 5) }()
		}
		wg.Wait()
		rep, err := l.Verify(ctx, key.Public())
		if err != nil {
			t.Fatal(err)
		}
		// A checkpoint signs the head as it is when it runs, so concurrent
		// appends may fold two due checkpoints into one.
		if rep.Broken != nil || rep.Entries != 20 || rep.HeadSeq != 20 || rep.Checkpoints < 1 || rep.Checkpoints > 5 {
			t.Fatalf("report %+v (broken %v)", rep, rep.Broken)
		}
		entries, err := l.List(ctx, audit.Filter{Object: "cert:3"})
		if err != nil || len(entries) != 4 {
			t.Fatalf("List by object = %d entries, %v", len(entries), err)
		}
		if entries[0].Details["reason"] != "keyCompromise" {
			t.Fatalf("details %v", entries[0].Details)
		}
		// A checkpoint key that is not trusted is refused.
		other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		rep, err = l.Verify(ctx, other.Public())
		if err != nil || rep.Broken == nil || !strings.Contains(rep.Broken.Reason, "untrusted") {
			t.Fatalf("untrusted key: %+v %v", rep, err)
		}
	})
}

func TestTamperingIsLocated(t *testing.T) {
	cases := []struct {
		name    string
		tamper  []string
		seq     int64
		reason  string
		noCheck bool
	}{
		{name: "edited details", tamper: []string{`UPDATE audit_log SET details = '{"reason":"unspecified"}' WHERE seq = 6`}, seq: 6, reason: "edited"},
		{name: "edited actor", tamper: []string{`UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3`}, seq: 3, reason: "edited"},
		{name: "row deleted", tamper: []string{`DELETE FROM audit_log WHERE seq = 5`}, seq: 5, reason: "missing"},
		{name: "tail truncated", tamper: []string{`DELETE FROM audit_log WHERE seq >= 9`}, seq: 9, reason: "missing"},
		{name: "hash recomputed by a forger breaks the next link", tamper: []string{`UPDATE audit_log SET hash = prev_hash WHERE seq = 7`}, seq: 7, reason: "edited"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := storetest.SQLite(t)
			ctx := context.Background()
			l, key := newLog(t, db)
			l.CheckpointEvery = 0
			appendN(t, l, 10)
			for _, q := range tc.tamper {
				if _, err := db.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := l.Verify(ctx, key.Public())
			if err != nil {
				t.Fatal(err)
			}
			if rep.Broken == nil || rep.Broken.Seq != tc.seq || !strings.Contains(rep.Broken.Reason, tc.reason) {
				t.Fatalf("Broken = %+v, want row %d (%s)", rep.Broken, tc.seq, tc.reason)
			}
		})
	}
}

// A forger who rewrites a row and recomputes every later hash and the head
// is still caught by the signed checkpoint.
func TestRewrittenChainCaughtByCheckpoint(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	l, key := newLog(t, db)
	l.CheckpointEvery = 0
	appendN(t, l, 5)
	if err := l.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	// Build a second, fully consistent chain in another database with a
	// different event 2, then copy its rows over.
	forged := storetest.SQLite(t)
	fl, _ := newLog(t, forged)
	fl.CheckpointEvery = 0
	for i := 0; i < 5; i++ {
		ev := audit.Event{Actor: "officer-1", Role: "officer", Action: "certificate.revoke", Object: fmt.Sprintf("cert:%d", i), Details: map[string]any{"reason": "keyCompromise", "i": i}}
		if i == 2 {
			ev.Object = "cert:forged"
		}
		if err := fl.Append(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	rows, _ := fl.List(ctx, audit.Filter{Limit: 100})
	if _, err := db.ExecContext(ctx, "DELETE FROM audit_log"); err != nil {
		t.Fatal(err)
	}
	for _, e := range rows {
		if _, err := db.ExecContext(ctx, `INSERT INTO audit_log SELECT * FROM (SELECT $1 AS seq, $2 AS at, $3 AS actor, $4 AS role, $5 AS action, $6 AS object, $7 AS details, $8 AS prev_hash, $9 AS hash)`,
			e.Seq, e.At.UnixMilli(), e.Actor, e.Role, e.Action, e.Object, mustJSON(e.Details), e.PrevHash, e.Hash); err != nil {
			t.Fatal(err)
		}
	}
	last := rows[len(rows)-1]
	if _, err := db.ExecContext(ctx, "UPDATE audit_head SET hash = $1", last.Hash); err != nil {
		t.Fatal(err)
	}
	rep, err := l.Verify(ctx, key.Public())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Broken == nil || rep.Broken.Seq != 5 || !strings.Contains(rep.Broken.Reason, "checkpoint") {
		t.Fatalf("Broken = %+v, want the checkpoint at row 5 to catch the rewrite", rep.Broken)
	}
}

func mustJSON(m map[string]any) string {
	// The same canonical encoding the log uses.
	var b strings.Builder
	b.WriteString("{")
	first := true
	for _, k := range []string{"i", "reason"} {
		v, ok := m[k]
		if !ok {
			continue
		}
		if !first {
			b.WriteString(",")
		}
		first = false
		switch x := v.(type) {
		case string:
			fmt.Fprintf(&b, "%q:%q", k, x)
		case float64:
			fmt.Fprintf(&b, "%q:%v", k, x)
		}
	}
	b.WriteString("}")
	return b.String()
}

// Events appended inside callers' transactions are covered by the next due
// checkpoint.
func TestCheckpointIfDue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l, key := newLog(t, db)
		l.CheckpointEvery = 5
		for i := 0; i < 7; i++ {
			if err := db.InTx(ctx, func(tx *sql.Tx) error {
				return l.AppendTx(ctx, tx, audit.Event{Actor: "ca", Role: "system", Action: "ca.certificate.issue", Object: fmt.Sprintf("cert:%d", i)})
			}); err != nil {
				t.Fatal(err)
			}
		}
		rep, _ := l.Verify(ctx, key.Public())
		if rep.Checkpoints != 0 {
			t.Fatalf("AppendTx checkpointed by itself: %+v", rep)
		}
		if err := l.CheckpointIfDue(ctx); err != nil {
			t.Fatal(err)
		}
		if err := l.CheckpointIfDue(ctx); err != nil { // nothing new: no second checkpoint
			t.Fatal(err)
		}
		rep, err := l.Verify(ctx, key.Public())
		if err != nil || rep.Broken != nil || rep.Checkpoints != 1 {
			t.Fatalf("after CheckpointIfDue: %+v %v", rep, err)
		}
	})
}
