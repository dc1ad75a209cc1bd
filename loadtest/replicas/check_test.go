package replicas

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kyso/store"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var t0 = time.Unix(1_800_000_000, 0)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func TestReadFaults(t *testing.T) {
	good := "replica-kill\t1800000010.5\t1800000014.25\n\nhsm-restart\t1800000020\t1800000023\n"
	f, err := ReadFaults(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(f) != 2 || f[0].Name != "replica-kill" || !f[0].Start.Equal(at(10.5)) || !f[0].End.Equal(at(14.25)) || f[1].Name != "hsm-restart" {
		t.Fatalf("%+v", f)
	}
	for _, bad := range []string{
		"replica-kill\t1800000010\n",
		"\t1\t2\n",
		"x\tsoon\t2\n",
		"x\t5\t4\n",
		"x\t-1\t4\n",
		"x\tInf\tInf\n",
		"x\tNaN\t4\n",
	} {
		if _, err := ReadFaults(strings.NewReader(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzReadFaults(f *testing.F) {
	f.Add("replica-kill\t1800000010.5\t1800000014.25\n")
	f.Add("a\t1\t2\nb\t3\t3\n")
	f.Fuzz(func(t *testing.T, s string) {
		faults, err := ReadFaults(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, x := range faults {
			if x.End.Before(x.Start) || x.Name == "" {
				t.Fatalf("accepted %+v", x)
			}
		}
	})
}

// ops is a small load: errors inside each fault window and one outside.
func sampleOps() ([]Op, []Fault) {
	faults := []Fault{{Name: "replica-kill", Start: at(10), End: at(14)}, {Name: "hsm-restart", Start: at(20), End: at(23)}}
	ops := []Op{
		{Worker: 1, Name: "identity", Start: at(0), End: at(0.02)},
		{Worker: 1, Name: "enrol-csr", Start: at(0.1), End: at(0.15), Records: []Record{{Kind: KindCertificate, ID: "0a"}}},
		{Worker: 1, Name: "revoke", Start: at(0.2), End: at(0.22), Records: []Record{{Kind: KindRevocation, ID: "0a"}}},
		{Worker: 2, Name: "pdf-seal", Start: at(9.9), End: at(10.1), Err: "HTTP 502"},
		{Worker: 2, Name: "pdf-seal", Start: at(11), End: at(11.3), Records: []Record{{Kind: KindSignature, ID: "e1"}}},
		{Worker: 1, Name: "dossier-submit", Start: at(22.9), End: at(23.5), Err: "HTTP 503 hsm-unavailable"},
		{Worker: 1, Name: "dossier-submit", Start: at(24), End: at(24.1), Records: []Record{{Kind: KindDossierStep, ID: "dos_1", State: "submitted"}}},
		{Worker: 2, Name: "identity", Start: at(23.01), End: at(23.2), Err: "HTTP 500"},
	}
	return ops, faults
}

func TestSummarise(t *testing.T) {
	ops, faults := sampleOps()
	r := Summarise(ops, faults)
	r.HSMRecoveries, r.AuditVerifies, r.Replicas, r.KilledReplicaRequests = 3, true, 3, 40
	if r.ErrorsByWindow["replica-kill"] != 1 || r.ErrorsByWindow["hsm-restart"] != 1 || r.ErrorsOutsideFaults != 1 || r.ErrorsByWindow[Outside] != 1 {
		t.Fatalf("errors by window %v, outside %d", r.ErrorsByWindow, r.ErrorsOutsideFaults)
	}
	for _, k := range Kinds {
		if r.Acknowledged[k] != 1 {
			t.Errorf("acknowledged %s = %d", k, r.Acknowledged[k])
		}
	}
	if r.InternalErrors != 1 {
		t.Errorf("internal errors %d", r.InternalErrors)
	}
	if f := r.Failures(); len(f) != 2 || !strings.Contains(f[0], "outside the fault windows") || !strings.Contains(f[1], "500") {
		t.Fatalf("failures %q", f)
	}
	golden(t, "summary.txt", r.Text())

	// Nothing of a kind acknowledged, a lost record, no recovery: each is
	// a failure of its own.
	r = Summarise(ops[:3], nil)
	r.LostAcknowledged = 1
	want := []string{"1 acknowledged records lost", "audit log does not verify", "HSM restart did not reach", "kill did not hit the load", "no signatures acknowledged", "no dossier steps acknowledged"}
	got := strings.Join(r.Failures(), "\n")
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("failures %q lack %q", got, w)
		}
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	if p50, p99 := percentileMS(ds, 0.5), percentileMS(ds, 0.99); p50 != 50 || p99 != 99 {
		t.Fatalf("p50 %v p99 %v", p50, p99)
	}
	if percentileMS(nil, 0.5) != 0 || percentileMS(ds[:1], 0.99) != 100 {
		t.Fatal("edge cases")
	}
}

// Check finds each kind of record in the database and counts the missing
// ones as lost (SQLite here; the same queries run on PostgreSQL in make
// replicas-test).
func TestCheckLooksRecordsUp(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "k.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`CREATE TABLE ca_certificates (serial TEXT PRIMARY KEY, status TEXT NOT NULL, revoked_at BIGINT NOT NULL DEFAULT 0, der BLOB NOT NULL DEFAULT x'')`,
		`CREATE TABLE audit_log (id TEXT)`, `CREATE TABLE audit_pending (id TEXT)`,
		`CREATE TABLE dossier_events (dossier_id TEXT, to_state TEXT)`,
		`INSERT INTO ca_certificates (serial, status) VALUES ('0b', 'good')`,
		`INSERT INTO audit_pending VALUES ('e1')`, `INSERT INTO audit_log VALUES ('e2')`,
		`INSERT INTO dossier_events VALUES ('dos_1', 'submitted')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	// 0a was revoked by the call acknowledged at 2, 0e only later (at 5):
	// its acknowledged revocation was lost and another call revoked it.
	for serial, when := range map[string]time.Time{"0a": at(1), "0e": at(5)} {
		if _, err := db.ExecContext(ctx, "INSERT INTO ca_certificates (serial, status, revoked_at) VALUES ($1, 'revoked', $2)", serial, when.UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	rec := func(kind, id, state string) Op {
		return Op{Name: kind, Start: at(1), End: at(2), Records: []Record{{Kind: kind, ID: id, State: state}}}
	}
	present := []Op{rec(KindCertificate, "0a", ""), rec(KindCertificate, "0b", ""), rec(KindSignature, "e1", ""), rec(KindSignature, "e2", ""),
		rec(KindDossierStep, "dos_1", "submitted"), rec(KindRevocation, "0a", "")}
	missing := []Op{rec(KindCertificate, "0c", ""), rec(KindRevocation, "0b", ""), rec(KindSignature, "e3", ""), rec(KindDossierStep, "dos_1", "received"),
		rec(KindRevocation, "0e", "")}
	failed := Op{Name: "x", Start: at(1), End: at(2), Err: "HTTP 503", Records: []Record{{Kind: KindCertificate, ID: "0d"}}}
	r, err := Check(ctx, append(append(present, missing...), failed), nil, CheckOptions{DB: db.DB, Replicas: nil})
	if err != nil {
		t.Fatal(err)
	}
	if r.LostAcknowledged != len(missing) {
		t.Fatalf("lost %d: %q", r.LostAcknowledged, r.Lost)
	}
	if _, err := Check(ctx, nil, nil, CheckOptions{}); err == nil {
		t.Fatal("no database accepted")
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", name, got, want)
	}
}
