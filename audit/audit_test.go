package audit_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"kyso/audit"
	"kyso/store"
	"kyso/store/storetest"
)

const origin = "kyso.test/audit"

func newKey(t testing.TB, name string) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
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
	return s, v
}

func newLog(t testing.TB, db *store.DB) (*audit.Log, note.Verifier) {
	t.Helper()
	s, v := newKey(t, origin)
	l, err := audit.New(context.Background(), db, s)
	if err != nil {
		t.Fatal(err)
	}
	return l, v
}

func appendN(t testing.TB, l *audit.Log, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if err := l.Append(context.Background(), audit.Event{Actor: "officer-1", Role: "officer", Action: "certificate.revoke",
			Object: fmt.Sprintf("cert:%d", i%7), Details: map[string]any{"reason": "keyCompromise", "i": i}}); err != nil {
			t.Error(err)
			return
		}
	}
}

// drain sequences until nothing is pending.
func drain(t testing.TB, l *audit.Log, batch int) {
	t.Helper()
	for {
		n, err := l.Sequence(context.Background(), audit.SequencerOptions{Holder: "test", Batch: batch})
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

func latest(t testing.TB, l *audit.Log) []byte {
	t.Helper()
	h, err := l.Latest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h.Note
}

func TestSequenceProveVerify(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l, v := newLog(t, db)
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() { defer wg.Done(); appendN(t, l, g*150, 150) }()
		}
		// The sequencer runs beside the writers.
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				if _, err := l.Sequence(ctx, audit.SequencerOptions{Holder: "test", Batch: 97}); err != nil {
					t.Error(err)
				}
			}
		}()
		wg.Wait()
		drain(t, l, 300)
		first := latest(t, l)
		cp1, err := audit.OpenCheckpoint(first, v)
		if err != nil || cp1.Size != 600 || cp1.Origin != origin {
			t.Fatalf("checkpoint %+v %v\n%s", cp1, err, first)
		}
		rep, err := l.Verify(ctx, audit.VerifyOptions{Verifier: v, Checkpoints: [][]byte{first}})
		if err != nil || rep.Divergence != nil || rep.Entries != 600 || rep.Checked != 1 {
			t.Fatalf("verify %+v %v (%v)", rep, err, rep.Divergence)
		}
		entries, err := l.List(ctx, audit.Filter{Object: "cert:3", Limit: 1000})
		if err != nil || len(entries) != 86 || entries[0].Details["reason"] != "keyCompromise" || entries[0].Index < 0 {
			t.Fatalf("List by object = %d entries, %v", len(entries), err)
		}
		// Receipts verify offline; a receipt under another key does not.
		r, err := l.Receipt(ctx, entries[5].ID)
		if err != nil {
			t.Fatal(err)
		}
		e, err := audit.VerifyReceipt(r, v)
		if err != nil || e.ID != entries[5].ID || e.Index != entries[5].Index {
			t.Fatalf("receipt: %+v %v", e, err)
		}
		_, other := newKey(t, origin)
		if _, err := audit.VerifyReceipt(r, other); err == nil {
			t.Fatal("receipt verified under another key")
		}
		forged := *r
		forged.Entry = []byte(strings.Replace(string(r.Entry), "keyCompromise", "superseded", 1))
		if _, err := audit.VerifyReceipt(&forged, v); err == nil {
			t.Fatal("edited receipt entry verified")
		}
		// A pending entry has no receipt yet.
		id := audit.NewID()
		if err := l.Append(ctx, audit.Event{ID: id, Action: "test.pending"}); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Receipt(ctx, id); err != audit.ErrPending {
			t.Fatalf("pending receipt: %v", err)
		}
		appendN(t, l, 600, 99)
		drain(t, l, 1000)
		// Proofs check with tlog.
		h, _ := l.Latest(ctx)
		p, err := l.ConsistencyProof(ctx, cp1.Size, h.Size)
		if err != nil || tlog.CheckTree(p.Proof, h.Size, h.Root, cp1.Size, cp1.Root) != nil {
			t.Fatalf("consistency proof: %v", err)
		}
		ip, err := l.InclusionProof(ctx, 599, h.Size)
		if err != nil {
			t.Fatal(err)
		}
		tile, err := l.Tile(ctx, tlog.Tile{H: 8, L: -1, N: 2, W: 88})
		if err != nil {
			t.Fatal(err)
		}
		bundle, err := audit.SplitBundle(tile)
		if err != nil || len(bundle) != 88 {
			t.Fatalf("bundle: %d %v", len(bundle), err)
		}
		if err := tlog.CheckRecord(ip.Proof, h.Size, h.Root, 599, tlog.RecordHash(bundle[599-512])); err != nil {
			t.Fatalf("inclusion proof: %v", err)
		}
		for _, bad := range [][2]int64{{-1, 5}, {5, 5}, {0, h.Size + 1}} {
			if _, err := l.InclusionProof(ctx, bad[0], bad[1]); err == nil {
				t.Errorf("inclusion proof %v accepted", bad)
			}
		}
		if _, err := l.Tile(ctx, tlog.Tile{H: 8, L: 0, N: 3, W: 256}); err == nil {
			t.Error("tile beyond the tree served")
		}
	})
}

// tamperCase edits the database as an insider with full access would.
type tamperCase struct {
	name   string
	tamper func(t *testing.T, db *store.DB, l *audit.Log)
	index  int64
	reason string
}

func exec(t *testing.T, db *store.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// resequence rewrites the log from its entries as they now are, signing
// with a key that is not the log's: what an insider holding the database
// but not the HSM key can do.
func resequence(t *testing.T, db *store.DB) {
	ctx := context.Background()
	exec(t, db, `INSERT INTO audit_pending (id, at, actor, role, action, object, data)
		SELECT id, at, actor, role, action, object, data FROM audit_log ORDER BY idx`)
	for _, q := range []string{"DELETE FROM audit_log", "DELETE FROM audit_hashes", "DELETE FROM audit_checkpoints",
		"UPDATE audit_tree SET size = 0", "UPDATE audit_lease SET expires = 0"} {
		exec(t, db, q)
	}
	foreign, _ := newKey(t, origin)
	fl, err := audit.New(ctx, db, foreign)
	if err != nil {
		t.Fatal(err)
	}
	drain(t, fl, 100)
}

func TestTamperingIsLocated(t *testing.T) {
	cases := []tamperCase{
		{"last entries deleted", func(t *testing.T, db *store.DB, l *audit.Log) {
			exec(t, db, "DELETE FROM audit_log WHERE idx >= 250")
		}, 250, "truncated"},
		{"last entries deleted with their tree and checkpoints", func(t *testing.T, db *store.DB, l *audit.Log) {
			exec(t, db, "DELETE FROM audit_log WHERE idx >= 223")
			exec(t, db, "DELETE FROM audit_checkpoints WHERE size > 223")
			exec(t, db, "DELETE FROM audit_hashes WHERE n >= $1", tlog.StoredHashIndex(0, 223))
			exec(t, db, "UPDATE audit_tree SET size = 223")
		}, 223, "truncated"},
		{"one entry edited", func(t *testing.T, db *store.DB, l *audit.Log) {
			editEntry(t, db, 123)
		}, 123, "content"},
		{"one entry edited, log re-signed with another key", func(t *testing.T, db *store.DB, l *audit.Log) {
			editEntry(t, db, 123)
			resequence(t, db)
		}, 123, "rewritten"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				ctx := context.Background()
				l, v := newLog(t, db)
				appendN(t, l, 0, 123)
				drain(t, l, 1000)
				published := [][]byte{latest(t, l)} // a witness saw size 123
				appendN(t, l, 123, 177)
				drain(t, l, 100)
				published = append(published, latest(t, l)) // and size 300
				tc.tamper(t, db, l)
				rep, err := l.Verify(ctx, audit.VerifyOptions{Verifier: v, Checkpoints: published})
				if err != nil {
					t.Fatal(err)
				}
				if rep.Divergence == nil || rep.Divergence.Index != tc.index || !strings.Contains(rep.Divergence.Reason, tc.reason) {
					t.Fatalf("divergence %+v, want index %d (%s)", rep.Divergence, tc.index, tc.reason)
				}
			})
		})
	}
}

// editEntry changes the revocation reason logged in entry idx.
func editEntry(t *testing.T, db *store.DB, idx int64) {
	t.Helper()
	var data []byte
	if err := db.QueryRowContext(context.Background(), "SELECT data FROM audit_log WHERE idx = $1", idx).Scan(&data); err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), "keyCompromise", "superseded", 1)
	if edited == string(data) {
		t.Fatal("nothing to edit")
	}
	exec(t, db, "UPDATE audit_log SET data = $1 WHERE idx = $2", []byte(edited), idx)
}
