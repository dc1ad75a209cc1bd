package audit

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/mod/sumdb/note"

	"kyso/store"
	"kyso/store/storetest"
)

// writeOldChain builds a database as the first version of the log left
// it: migration 001 only, n chained rows and a checkpoint signed with key.
func writeOldChain(t *testing.T, db *store.DB, n int, key *ecdsa.PrivateKey) {
	t.Helper()
	ctx := context.Background()
	body, err := os.ReadFile("migrations/001_audit.sql")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx, "audit", fstest.MapFS{"001_audit.sql": {Data: body}}); err != nil {
		t.Fatal(err)
	}
	prev := make([]byte, sha256.Size)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := 1; i <= n; i++ {
		e := chainRow{Seq: int64(i), At: at.Add(time.Duration(i) * time.Second), Actor: "officer-1", Role: "officer",
			Action: "ca.certificate.revoke", Object: fmt.Sprintf("certificate:%d", i), details: fmt.Sprintf(`{"i":%d}`, i), PrevHash: prev}
		e.Hash = e.computeHash()
		if _, err := db.ExecContext(ctx, `INSERT INTO audit_log (seq, at, actor, role, action, object, details, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, e.Seq, e.At.UnixMilli(), e.Actor, e.Role, e.Action, e.Object, e.details, e.PrevHash, e.Hash); err != nil {
			t.Fatal(err)
		}
		prev = e.Hash
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO audit_head (id, seq, hash) VALUES (1, $1, $2)", n, prev); err != nil {
		t.Fatal(err)
	}
	pub, _ := x509.MarshalPKIXPublicKey(key.Public())
	sig, err := key.Sign(rand.Reader, legacyCheckpointDigest(int64(n), prev), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO audit_checkpoints (seq, hash, at, algorithm, public_key, signature) VALUES ($1, $2, 0, 'sha256', $3, $4)`,
		n, prev, pub, sig); err != nil {
		t.Fatal(err)
	}
}

// The old hash chain's rows become the first leaves, in order, before any
// new entry; the chain's own verification still runs for that prefix and
// names an edited row.
func TestMigrationFromHashChain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		old, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		writeOldChain(t, db, 40, old)
		skey, vkey, _ := note.GenerateKey(rand.Reader, "kyso.test/audit")
		s, _ := note.NewSigner(skey)
		v, _ := note.NewVerifier(vkey)
		l, err := New(ctx, db, s)
		if err != nil {
			t.Fatal(err)
		}
		// New entries written before the sequencer first runs still come
		// after the chain.
		for i := 0; i < 5; i++ {
			if err := l.Append(ctx, Event{Actor: "citizen-1", Action: "signature.create", Object: fmt.Sprintf("credential:%d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		for {
			n, err := l.Sequence(ctx, SequencerOptions{Holder: "test", Batch: 16})
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		entries, err := l.List(ctx, Filter{Limit: 1000})
		if err != nil || len(entries) != 45 {
			t.Fatalf("%d entries, %v", len(entries), err)
		}
		for i, e := range entries {
			if e.Index != int64(i) {
				t.Fatalf("entry %d has index %d", i, e.Index)
			}
			if i < 40 && (e.Legacy != int64(i+1) || e.Object != fmt.Sprintf("certificate:%d", i+1) || e.Details["i"] != float64(i+1)) {
				t.Fatalf("leaf %d is %+v", i, e)
			}
			if i >= 40 && (e.Legacy != 0 || e.Action != "signature.create") {
				t.Fatalf("leaf %d is %+v", i, e)
			}
		}
		rep, err := l.Verify(ctx, VerifyOptions{Verifier: v, LegacyTrusted: []crypto.PublicKey{old.Public()}})
		if err != nil || rep.Divergence != nil || rep.Legacy == nil || rep.Legacy.Entries != 40 || rep.Legacy.Checkpoints != 1 {
			t.Fatalf("verify %+v %v (%v)", rep, err, rep.Divergence)
		}
		other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		rep, err = l.Verify(ctx, VerifyOptions{Verifier: v, LegacyTrusted: []crypto.PublicKey{other.Public()}})
		if err != nil || rep.Divergence == nil || !strings.Contains(rep.Divergence.Reason, "untrusted") {
			t.Fatalf("old checkpoint under another key: %+v %v", rep, err)
		}
		// Editing a chain row breaks the chain there, at leaf seq-1.
		if _, err := db.ExecContext(ctx, "UPDATE audit_chain SET actor = 'officer-2' WHERE seq = 17"); err != nil {
			t.Fatal(err)
		}
		rep, err = l.Verify(ctx, VerifyOptions{Verifier: v})
		if err != nil || rep.Divergence == nil || rep.Divergence.Index != 16 || !strings.Contains(rep.Divergence.Reason, "old hash chain") {
			t.Fatalf("edited chain row: %+v %v", rep.Divergence, err)
		}
	})
}
