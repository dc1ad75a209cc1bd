package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"kyso/audit"
	"kyso/store"
)

// kyso audit verify passes on an intact chain and, after one row is edited
// in the SQLite file, fails naming that row.
func TestAuditVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "kyso.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	l, err := audit.New(ctx, db, key)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 6; i++ {
		if err := l.Append(ctx, audit.Event{Actor: "agency:UBND-HN", Role: "agency", Action: "dossier.receive", Object: fmt.Sprintf("dossier:%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	env := []string{"KYSO_DATA_DIR=" + dir}
	code, out, errs := runCLI(t, env, "audit", "verify")
	if code != exitOK || !strings.Contains(out, "audit chain OK: 6 entries, 1 signed checkpoints") {
		t.Fatalf("intact chain: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = runCLI(t, env, "audit", "list", "--object", "dossier:4")
	if code != exitOK || strings.Count(out, "\n") != 1 || !strings.Contains(out, `"action":"dossier.receive"`) {
		t.Fatalf("audit list: exit %d\n%s", code, out)
	}
	if _, err := db.ExecContext(ctx, `UPDATE audit_log SET object = 'dossier:99' WHERE seq = 4`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, out, errs = runCLI(t, env, "audit", "verify")
	if code != exitFail || !strings.Contains(out, "BROKEN at row 4") {
		t.Fatalf("edited row: exit %d\n%s%s", code, out, errs)
	}
}
