package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"kyso/api"
	"kyso/audit"
	"kyso/hsm"
	"kyso/hsm/hsmtest"
	"kyso/store"
)

type auditFixture struct {
	dir, vkey string
	db        *store.DB
	log       *audit.Log
	env       []string
}

func newAuditFixture(t *testing.T) *auditFixture {
	t.Helper()
	f := &auditFixture{dir: t.TempDir()}
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(f.dir, "kyso.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	skey, vkey, err := note.GenerateKey(rand.Reader, "kyso.test/audit")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	f.db, f.vkey = db, vkey
	if f.log, err = audit.New(ctx, db, s); err != nil {
		t.Fatal(err)
	}
	f.env = []string{"KYSO_DATA_DIR=" + f.dir}
	return f
}

// add appends n entries and sequences them, returning the new checkpoint
// saved to a file, as a witness would have kept it.
func (f *auditFixture) add(t *testing.T, from, n int) string {
	t.Helper()
	ctx := context.Background()
	for i := from; i < from+n; i++ {
		if err := f.log.Append(ctx, audit.Event{Actor: "agency:UBND-HN", Role: "agency", Action: "dossier.receive", Object: fmt.Sprintf("dossier:%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.log.Sequence(ctx, audit.SequencerOptions{Holder: "test"}); err != nil {
		t.Fatal(err)
	}
	h, err := f.log.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(f.dir, fmt.Sprintf("checkpoint-%d", h.Size))
	if err := os.WriteFile(p, h.Note, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *auditFixture) keyFile(t *testing.T) string {
	p := filepath.Join(f.dir, "log.vkey")
	if err := os.WriteFile(p, []byte(f.vkey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// kyso audit verify --checkpoint passes on an intact log and fails, naming
// the first divergent index, after each attack an insider with the
// database (but not the HSM's log key) can mount.
func TestAuditVerifyCommand(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(t *testing.T, f *auditFixture)
		want   string
	}{
		{"last entries deleted", func(t *testing.T, f *auditFixture) {
			mustExec(t, f.db, "DELETE FROM audit_log WHERE idx >= 7")
		}, "DIVERGES at index 7: the log is truncated"},
		{"one entry edited", func(t *testing.T, f *auditFixture) {
			mustExec(t, f.db, "UPDATE audit_log SET data = $1, object = 'dossier:99' WHERE idx = 4",
				[]byte(`{"id":"x","at":"2026-01-01T00:00:00.000Z","actor":"agency:UBND-HN","role":"agency","action":"dossier.receive","object":"dossier:99"}`))
		}, "DIVERGES at index 4:"},
		{"log re-signed with another key", func(t *testing.T, f *auditFixture) {
			// Entry 6 is dropped and everything after it re-sequenced and
			// signed by a key of the insider's own.
			mustExec(t, f.db, "DELETE FROM audit_log WHERE idx = 6")
			mustExec(t, f.db, `INSERT INTO audit_pending (id, at, actor, role, action, object, data)
				SELECT id, at, actor, role, action, object, data FROM audit_log ORDER BY idx`)
			for _, q := range []string{"DELETE FROM audit_log", "DELETE FROM audit_hashes", "DELETE FROM audit_checkpoints", "UPDATE audit_tree SET size = 0", "UPDATE audit_lease SET expires = 0"} {
				mustExec(t, f.db, q)
			}
			skey, _, _ := note.GenerateKey(rand.Reader, "kyso.test/audit")
			s, _ := note.NewSigner(skey)
			fl, err := audit.New(context.Background(), f.db, s)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fl.Sequence(context.Background(), audit.SequencerOptions{Holder: "insider"}); err != nil {
				t.Fatal(err)
			}
		}, "DIVERGES at index 6:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newAuditFixture(t)
			cp6 := f.add(t, 0, 6)
			cp10 := f.add(t, 6, 4)
			key := f.keyFile(t)
			args := []string{"audit", "verify", "--key", key, "--checkpoint", cp6, "--checkpoint", cp10}
			code, out, errs := runCLI(t, f.env, args...)
			if code != exitOK || !strings.Contains(out, "audit log OK: 10 entries") || !strings.Contains(out, "extends 2 given checkpoints") {
				t.Fatalf("intact log: exit %d\n%s%s", code, out, errs)
			}
			tc.tamper(t, f)
			code, out, errs = runCLI(t, f.env, args...)
			if code != exitFail || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, want 1 and %q\n%s%s", code, tc.want, out, errs)
			}
		})
	}
}

func mustExec(t *testing.T, db *store.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// A receipt fetched over HTTP verifies offline with kyso audit
// verify-receipt and the published key, and fails with another key or
// when edited; kyso audit witness follows the log and raises the alarm
// when it shrinks.
func TestAuditReceiptAndWitness(t *testing.T) {
	f := newAuditFixture(t)
	f.add(t, 0, 5)
	srv := httptest.NewServer(testAuditServer(t, f))
	defer srv.Close()
	entries, err := f.log.List(context.Background(), audit.Filter{Object: "dossier:3"})
	if err != nil || len(entries) != 1 {
		t.Fatalf("%v %v", entries, err)
	}
	resp, err := http.Get(srv.URL + "/v1/audit/receipts/" + entries[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	var rc audit.Receipt
	if err := json.NewDecoder(resp.Body).Decode(&rc); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("receipt: %s %v", resp.Status, err)
	}
	resp.Body.Close()
	b, _ := json.Marshal(rc)
	receipt := filepath.Join(f.dir, "receipt.json")
	_ = os.WriteFile(receipt, b, 0o600)
	code, out, errs := runCLI(t, nil, "audit", "verify-receipt", receipt, "--key", f.vkey)
	if code != exitOK || !strings.Contains(out, "receipt OK: entry "+entries[0].ID) {
		t.Fatalf("verify-receipt: %d\n%s%s", code, out, errs)
	}
	_, other, _ := note.GenerateKey(rand.Reader, "kyso.test/audit")
	if code, out, _ := runCLI(t, nil, "audit", "verify-receipt", receipt, "--key", other); code != exitFail || !strings.Contains(out, "INVALID") {
		t.Fatalf("foreign key: %d %s", code, out)
	}
	rc.Entry = []byte(strings.Replace(string(rc.Entry), "dossier:3", "dossier:4", 1))
	b, _ = json.Marshal(rc)
	_ = os.WriteFile(receipt, b, 0o600)
	if code, out, _ := runCLI(t, nil, "audit", "verify-receipt", receipt, "--key", f.vkey); code != exitFail || !strings.Contains(out, "INVALID") {
		t.Fatalf("edited receipt: %d %s", code, out)
	}

	state := filepath.Join(f.dir, "witness.json")
	witness := []string{"audit", "witness", "--url", srv.URL, "--state", state, "--key", f.vkey, "--once"}
	if code, out, errs := runCLI(t, nil, witness...); code != exitOK || !strings.Contains(out, "at size 5 is consistent") {
		t.Fatalf("witness: %d\n%s%s", code, out, errs)
	}
	f.add(t, 5, 3)
	if code, out, errs := runCLI(t, nil, witness...); code != exitOK || !strings.Contains(out, "at size 8 is consistent") {
		t.Fatalf("witness: %d\n%s%s", code, out, errs)
	}
	// The log is rolled back to 6 entries and re-signed... by the real key
	// even: the witness refuses a smaller tree.
	mustExec(t, f.db, "DELETE FROM audit_checkpoints WHERE size > 5")
	if code, out, _ := runCLI(t, nil, witness...); code != exitFail || !strings.Contains(out, "ALARM: the log shrank from 8 to 5") {
		t.Fatalf("witness after rollback: %d\n%s", code, out)
	}
}

func testAuditServer(t *testing.T, f *auditFixture) http.Handler {
	t.Helper()
	return api.New(api.Deps{}, api.NewAuditArea(f.log, f.vkey, nil))
}

// waitSequenced waits until the running sequencer has integrated every
// pending entry.
func waitSequenced(t *testing.T, l *audit.Log) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := l.Pending(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d audit entries still pending", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logKeyToken makes a SoftHSM token holding an Ed25519 log key, and a
// data directory with the token's PIN in user.pin.
func logKeyToken(t *testing.T) (hsm.Config, *hsm.Key, string, string) {
	t.Helper()
	hsmtest.ConfPath(t)
	hcfg := hsmtest.NewToken(t)
	h := hsmtest.Open(t, hcfg, nil)
	k, err := h.GenerateKey(context.Background(), hsm.KeySpec{Label: audit.LogKeyLabel, Type: hsm.Ed25519})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pinFile := filepath.Join(dir, "user.pin")
	if err := os.WriteFile(pinFile, []byte(hcfg.PIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return hcfg, k, dir, pinFile
}

// kyso audit key prints the note verifier key of the Ed25519 log key in
// the HSM under the configured origin, and kyso audit verify without --key
// checks the log against that key.
func TestAuditKeyFromHSM(t *testing.T) {
	hcfg, k, dir, pinFile := logKeyToken(t)
	env := []string{"KYSO_DATA_DIR=" + dir, "KYSO_HSM_MODULE=" + hcfg.Module, "KYSO_HSM_TOKEN_LABEL=" + hcfg.TokenLabel,
		"KYSO_HSM_PIN_FILE=" + pinFile, "KYSO_AUDIT_ORIGIN=kyso.example/audit"}
	code, out, errs := runCLI(t, env, "audit", "key")
	want, _ := audit.VerifierKey("kyso.example/audit", k.Public())
	if code != exitOK || strings.TrimSpace(out) != want {
		t.Fatalf("audit key: %d %q, want %q\n%s", code, out, want, errs)
	}
	// A log signed by that key verifies with no --key; one entry signed
	// by another key under the same name does not.
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "kyso.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, _ := audit.NoteSigner("kyso.example/audit", k)
	l, err := audit.New(ctx, db, s)
	if err != nil {
		t.Fatal(err)
	}
	_ = l.Append(ctx, audit.Event{Action: "test.one"})
	if _, err := l.Sequence(ctx, audit.SequencerOptions{Holder: "t"}); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := runCLI(t, env, "audit", "verify"); code != exitOK || !strings.Contains(out, "audit log OK: 1 entries") {
		t.Fatalf("verify with the HSM key: %d\n%s%s", code, out, errs)
	}
	skey, _, _ := note.GenerateKey(rand.Reader, "kyso.example/audit")
	foreign, _ := note.NewSigner(skey)
	fl, _ := audit.New(ctx, db, foreign)
	_ = fl.Append(ctx, audit.Event{Action: "test.two"})
	if _, err := fl.Sequence(ctx, audit.SequencerOptions{Holder: "t"}); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := runCLI(t, env, "audit", "verify"); code != exitFail || !strings.Contains(out, "DIVERGES at index 1: the latest checkpoint (size 2) is not signed by the configured key") {
		t.Fatalf("verify after a foreign checkpoint: %d\n%s", code, out)
	}
}

// With hsm.audit_module the log key is used through that library alone:
// kyso audit key and verify work while hsm.module (a client library that
// cannot carry EdDSA, say) is not even loadable.
func TestAuditKeyThroughAuditModule(t *testing.T) {
	hcfg, k, dir, pinFile := logKeyToken(t)
	env := []string{"KYSO_DATA_DIR=" + dir, "KYSO_HSM_MODULE=" + filepath.Join(dir, "no-such-client.so"), "KYSO_HSM_AUDIT_MODULE=" + hcfg.Module,
		"KYSO_HSM_TOKEN_LABEL=" + hcfg.TokenLabel, "KYSO_HSM_PIN_FILE=" + pinFile, "KYSO_AUDIT_ORIGIN=kyso.example/audit"}
	want, _ := audit.VerifierKey("kyso.example/audit", k.Public())
	if code, out, errs := runCLI(t, env, "audit", "key"); code != exitOK || strings.TrimSpace(out) != want {
		t.Fatalf("audit key: %d %q, want %q\n%s", code, out, want, errs)
	}
	if code, out, errs := runCLI(t, env, "audit", "verify"); code != exitOK {
		t.Fatalf("audit verify: %d\n%s%s", code, out, errs)
	}
	// Without audit_module the unloadable hsm.module is used, and fails.
	var without []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "KYSO_HSM_AUDIT_MODULE=") {
			without = append(without, kv)
		}
	}
	if code, _, errs := runCLI(t, without, "audit", "key"); code != exitFail || !strings.Contains(errs, "no-such-client.so") {
		t.Fatalf("audit key through an unloadable module: %d %s", code, errs)
	}
}

// An install whose key ceremony predates the log key gets it from kyso
// ceremony log-key, with the service token alone: the verifier key it
// prints is the one kyso audit key prints, and a second run keeps the key.
func TestCeremonyLogKey(t *testing.T) {
	hsmtest.ConfPath(t)
	hcfg := hsmtest.NewToken(t)
	h := hsmtest.Open(t, hcfg, nil)
	dir := t.TempDir()
	pinFile := filepath.Join(dir, "user.pin")
	if err := os.WriteFile(pinFile, []byte(hcfg.PIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// No root token is configured: log-key does not open it.
	env := []string{"KYSO_DATA_DIR=" + dir, "KYSO_HSM_MODULE=" + hcfg.Module, "KYSO_HSM_TOKEN_LABEL=" + hcfg.TokenLabel,
		"KYSO_HSM_PIN_FILE=" + pinFile, "KYSO_AUDIT_ORIGIN=kyso.example/audit", "KYSO_HSM_ROOT_TOKEN_LABEL=no-such-token"}
	if code, _, errs := runCLI(t, env, "audit", "key"); code == exitOK || !strings.Contains(errs, "kyso ceremony log-key") {
		t.Fatalf("audit key without a log key: %d %s", code, errs)
	}
	code, out, errs := runCLI(t, env, "ceremony", "log-key")
	if code != exitOK || !strings.Contains(errs, "generated "+audit.LogKeyLabel) {
		t.Fatalf("ceremony log-key: %d %q\n%s", code, out, errs)
	}
	k, err := h.FindKey(context.Background(), audit.LogKeyLabel)
	if err != nil || k.Type() != hsm.Ed25519 {
		t.Fatalf("log key after log-key: %v %v", k, err)
	}
	want, _ := audit.VerifierKey("kyso.example/audit", k.Public())
	if strings.TrimSpace(out) != want {
		t.Fatalf("log-key printed %q, want %q", out, want)
	}
	if code, keyOut, errs := runCLI(t, env, "audit", "key"); code != exitOK || keyOut != out {
		t.Fatalf("audit key after log-key: %d %q, want %q\n%s", code, keyOut, out, errs)
	}
	if code, again, errs := runCLI(t, env, "ceremony", "log-key"); code != exitOK || again != out || !strings.Contains(errs, "kept") {
		t.Fatalf("second log-key: %d %q\n%s", code, again, errs)
	}
}
