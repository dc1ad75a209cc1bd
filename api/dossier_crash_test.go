package api_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kyso/api"
	"kyso/audit"
	"kyso/audit/audittest"
	"kyso/auth"
	"kyso/dossier"
	"kyso/dossier/dossiertest"
	"kyso/store"
	"kyso/store/storetest"
)

const (
	crashDSNEnv = "KYSO_DOSSIER_CRASH_DSN"
	crashKeyEnv = "KYSO_DOSSIER_CRASH_KEY"
	// crashAppName is the application_name of the server's PostgreSQL
	// sessions, so the test finds them in pg_stat_activity.
	crashAppName = "kyso-crash-server"
)

// TestDossierCrashChild is the server process of TestDossierCrashSafety; it
// does nothing unless started by it.
func TestDossierCrashChild(t *testing.T) {
	dsn := os.Getenv(crashDSNEnv)
	if dsn == "" {
		t.Skip("helper process of TestDossierCrashSafety")
	}
	ctx := context.Background()
	db, err := store.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(os.Getenv(crashKeyEnv))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(keyPEM)
	if blk == nil {
		t.Fatal("event key: no PEM block")
	}
	key, err := x509.ParseECPrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	log, err := audit.New(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := auth.NewPrincipals(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := dossier.New(ctx, dossier.Config{DB: db, Audit: log, EventKey: key, Sealer: dossiertest.NewFakeSealer(), Forms: dossiertest.AcceptForms{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := dossier.SeedDemoAgencies(ctx, svc.Agencies()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("ADDR %s\n", ln.Addr())
	srv := api.New(api.Deps{Principals: ps, Assertions: citizenTokens{"alice.jwt": aliceID}}, api.NewDossierArea(svc, nil))
	_ = http.Serve(ln, srv) // until killed
}

// crashEngine is a database engine the crash test runs on.
type crashEngine struct {
	name string
	// open creates an empty database and returns the DSN the server
	// process opens and the one the test itself uses.
	open func(t *testing.T) (serverDSN, testDSN string)
	// holdInside says whether the test can stop every step inside its
	// transaction, after the step's own writes: on PostgreSQL by holding
	// a lock on the audit log's pending table, into which each step writes
	// last. SQLite
	// takes its single write lock at BEGIN, so an outside lock stops a
	// step before it writes anything; there the kill under load is what
	// lands inside transactions.
	holdInside bool
}

func crashEngines() []crashEngine {
	return []crashEngine{
		{name: "sqlite", open: func(t *testing.T) (string, string) {
			dsn := "sqlite:" + filepath.Join(t.TempDir(), "kyso.db")
			return dsn, dsn
		}},
		{name: "postgres", holdInside: true, open: func(t *testing.T) (string, string) {
			db := storetest.Postgres(t) // skips (or fails under CI) without a server
			var name string
			if err := db.QueryRowContext(context.Background(), "SELECT current_database()").Scan(&name); err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(os.Getenv(storetest.EnvPostgres))
			if err != nil {
				t.Fatal(err)
			}
			u.Path = "/" + name
			testDSN := u.String()
			q := u.Query()
			q.Set("application_name", crashAppName)
			u.RawQuery = q.Encode()
			return u.String(), testDSN
		}},
	}
}

// crashServer is one run of the server process.
type crashServer struct {
	cmd    *exec.Cmd
	url    string
	client *http.Client
	tokens map[string]string
}

// startCrashServer runs the server in a subprocess on dsn.
func startCrashServer(t *testing.T, dsn, keyPath string, tokens map[string]string) *crashServer {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDossierCrashChild$", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), crashDSNEnv+"="+dsn, crashKeyEnv+"="+keyPath)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
			go func() {
				for sc.Scan() {
				}
			}()
			return &crashServer{cmd: cmd, url: "http://" + addr, client: &http.Client{Transport: &http.Transport{}}, tokens: tokens}
		}
	}
	t.Fatalf("server process exited without serving: %v", sc.Err())
	return nil
}

// kill ends the server process with SIGKILL: no deferred work, no graceful
// close of its HTTP or database connections.
func (s *crashServer) kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = s.cmd.Wait()
	s.client.CloseIdleConnections()
}

// do sends a request as who and returns the status and the JSON answer;
// err is set when no answer came (the server died).
func (s *crashServer) do(who, method, path string, body any) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.tokens[who])
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("answer %d is not JSON: %q", resp.StatusCode, raw)
	}
	return resp.StatusCode, m, nil
}

// crashStep is the next step of the journey from a state: who takes it,
// where, with what body. The empty state submits a new dossier.
func crashStep(state, id, attachment string) (who, path string, body any) {
	p := "/v1/dossiers/" + id
	switch dossier.State(state) {
	case "":
		return "alice", "/v1/dossiers", map[string]any{"procedure_code": "1.0001", "agency_code": "UBND-HN",
			"form":        map[string]any{"jws": "a.b.c"},
			"attachments": []map[string]any{{"name": attachment, "data": bytes.Repeat([]byte("attachment "), 6000)}}}
	case dossier.StateSubmitted:
		return "hn", p + "/receive", map[string]any{"digitized": []map[string]any{{"name": "scan.pdf", "data": bytes.Repeat([]byte("scan "), 12000)}}}
	case dossier.StateReceived:
		return "hn", p + "/decisions", map[string]string{"decision": "approve"}
	case dossier.StateProcessed:
		return "hn", p + "/result", nil
	case dossier.StateResultSigned:
		return "hn", p + "/return", nil
	case dossier.StateReturned:
		return "alice", p + "/acknowledge", nil
	}
	return "", "", nil
}

// ack is the last step of a dossier the server acknowledged.
type ack struct {
	version int64
	state   string
}

// acks records what the server acknowledged: a 2xx answer with the
// dossier.
type acks struct {
	mu    sync.Mutex
	last  map[string]ack
	steps int
}

func (a *acks) record(m map[string]any) (id, state string) {
	id, _ = m["id"].(string)
	state, _ = m["state"].(string)
	v, _ := m["version"].(float64)
	a.mu.Lock()
	defer a.mu.Unlock()
	if v > float64(a.last[id].version) {
		a.last[id] = ack{version: int64(v), state: state}
	}
	a.steps++
	return id, state
}

func (a *acks) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.steps
}

// post takes one step; it returns the dossier's id and new state when the
// server acknowledged it.
func (s *crashServer) post(a *acks, who, path string, body any) (id, state string, ok bool) {
	status, m, err := s.do(who, http.MethodPost, path, body)
	if err != nil || status/100 != 2 {
		return "", "", false
	}
	id, state = a.record(m)
	return id, state, true
}

// TestDossierCrashSafety kills the server (SIGKILL) between and during the
// five steps, on SQLite and on PostgreSQL, and restarts it on the same
// database: every acknowledged step is there, no step is half applied
// (dossier version, sealed events and audit rows agree), interrupted
// dossiers finish their journey, the event seals verify and the audit
// chain is intact.
func TestDossierCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	for _, eng := range crashEngines() {
		t.Run(eng.name, func(t *testing.T) { testDossierCrash(t, eng) })
	}
}

func testDossierCrash(t *testing.T, eng crashEngine) {
	ctx := context.Background()
	serverDSN, testDSN := eng.open(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(t.TempDir(), "event-key.pem")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, testDSN, nil)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := auth.NewPrincipals(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	_, agencyTok, err := ps.Add(ctx, auth.AddRequest{Role: auth.RoleAgency, AgencyCode: "UBND-HN"})
	if err != nil {
		t.Fatal(err)
	}
	// The test holds no connection while the server runs and dies.
	db.Close()
	tokens := map[string]string{"alice": "alice.jwt", "hn": agencyTok}
	acked := &acks{last: map[string]ack{}}

	// Killed under load: four clients run journeys; the kill lands between
	// steps for some and in the middle of others.
	srv := startCrashServer(t, serverDSN, keyPath, tokens)
	enough := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			id, state := "", ""
			for i := 0; ; i++ {
				who, path, body := crashStep(state, id, fmt.Sprintf("a-%d-%d.pdf", w, i))
				var ok bool
				if id, state, ok = srv.post(acked, who, path, body); !ok {
					return
				}
				if acked.count() >= 60 {
					once.Do(func() { close(enough) })
				}
				if state == string(dossier.StateAcknowledged) {
					id, state = "", ""
				}
			}
		}(w)
	}
	<-enough
	srv.kill(t)
	wg.Wait()
	if eng.name == "postgres" {
		waitServerSessionsGone(t, testDSN)
	}
	srv = startCrashServer(t, serverDSN, keyPath, tokens)
	checkAcknowledged(t, srv, acked)

	if eng.holdInside {
		srv = killInsideSteps(t, srv, serverDSN, testDSN, keyPath, tokens, acked)
		checkAcknowledged(t, srv, acked)
	}

	// Every dossier, interrupted or not, finishes its journey on the
	// restarted server.
	db, err = store.Open(ctx, testDSN, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ids := dossierIDs(t, db)
	for _, id := range ids {
		finishJourney(t, srv, acked, id)
	}
	checkAcknowledged(t, srv, acked)
	verifyAfterCrash(t, db, key, ids)
	t.Logf("%s: %d dossiers, %d acknowledged steps survived the kills", eng.name, len(ids), acked.count())
}

// killInsideSteps stops one request of every step inside its transaction
// (the test holds a lock on the audit pending table, which a step writes
// to after writing the dossier, its files and its event), kills the server while
// all of them wait, and restarts it. None of those steps was
// acknowledged, and none may be found, not even in part.
func killInsideSteps(t *testing.T, srv *crashServer, serverDSN, testDSN, keyPath string, tokens map[string]string, acked *acks) *crashServer {
	t.Helper()
	ctx := context.Background()
	// One dossier waiting for each step after submission.
	var pending []string
	for n := 0; n < 5; n++ {
		id, state := "", ""
		for k := 0; k <= n; k++ {
			who, path, body := crashStep(state, id, "hold.pdf")
			var ok bool
			if id, state, ok = srv.post(acked, who, path, body); !ok {
				t.Fatalf("preparing dossier %d: %s %s failed", n, who, path)
			}
		}
		pending = append(pending, id)
	}

	db, err := store.Open(ctx, testDSN, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	readKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // reading needs no event key
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := crashService(t, db, readKey)
	before := map[string]*dossier.Dossier{}
	for _, id := range pending {
		before[id] = loadDossier(t, svc, id)
	}
	dossiersBefore := len(dossierIDs(t, db))
	hold, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = hold.Rollback() }()
	var headBefore int64
	if _, err := hold.ExecContext(ctx, "LOCK TABLE audit_pending IN SHARE MODE"); err != nil {
		t.Fatal(err)
	}
	if err := hold.QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM audit_pending) + (SELECT COUNT(*) FROM audit_log)").Scan(&headBefore); err != nil {
		t.Fatal(err)
	}

	type result struct {
		path string
		ok   bool
	}
	results := make(chan result, len(pending)+1)
	fire := func(state, id string) {
		who, path, body := crashStep(state, id, "inside.pdf")
		_, _, ok := srv.post(acked, who, path, body)
		results <- result{path, ok}
	}
	go fire("", "")
	for _, id := range pending {
		go fire(string(before[id].State), id)
	}
	waitServerSessions(t, db, "wait_event_type = 'Lock' AND query LIKE '%audit_pending%'", len(pending)+1)
	srv.kill(t)
	for range len(pending) + 1 {
		if r := <-results; r.ok {
			t.Fatalf("%s was acknowledged while its transaction was held", r.path)
		}
	}
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	// PostgreSQL ends the dead server's sessions and rolls their
	// transactions back.
	waitServerSessionsGone(t, testDSN)
	srv = startCrashServer(t, serverDSN, keyPath, tokens)

	var headAfter int64
	if err := db.QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM audit_pending) + (SELECT COUNT(*) FROM audit_log)").Scan(&headAfter); err != nil {
		t.Fatal(err)
	}
	if headAfter != headBefore {
		t.Errorf("audit log grew from %d to %d entries by steps that never committed", headBefore, headAfter)
	}
	if n := len(dossierIDs(t, db)); n != dossiersBefore {
		t.Errorf("%d dossiers after the kill, %d before: the held submission left a row", n, dossiersBefore)
	}
	var inside int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM dossier_files WHERE name = 'inside.pdf'").Scan(&inside); err != nil {
		t.Fatal(err)
	}
	if inside != 0 {
		t.Errorf("%d attachment rows of the held submission survived", inside)
	}
	for _, id := range pending {
		b, a := before[id], loadDossier(t, svc, id)
		if a.Version != b.Version || a.State != b.State || !a.UpdatedAt.Equal(b.UpdatedAt) ||
			len(a.Events) != len(b.Events) || len(a.Files) != len(b.Files) {
			t.Errorf("dossier %s: %s v%d with %d events and %d files before the held step, %s v%d with %d events and %d files after",
				id, b.State, b.Version, len(b.Events), len(b.Files), a.State, a.Version, len(a.Events), len(a.Files))
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return srv
}

// waitServerSessions waits until the server process has n PostgreSQL
// sessions matching cond.
func waitServerSessions(t *testing.T, db *store.DB, cond string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	q := "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1"
	if cond != "" {
		q += " AND " + cond
	}
	for {
		var got int
		if err := db.QueryRowContext(ctx, q, crashAppName).Scan(&got); err != nil {
			t.Fatalf("waiting for %d server sessions (%s): %v", n, cond, err)
		}
		if got == n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("server sessions (%s): %d, want %d", cond, got, n)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// waitServerSessionsGone waits until PostgreSQL has ended every session of
// the killed server.
func waitServerSessionsGone(t *testing.T, testDSN string) {
	t.Helper()
	db, err := store.Open(context.Background(), testDSN, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	waitServerSessions(t, db, "", 0)
}

// checkAcknowledged asks the running server, as the citizen, for every
// dossier with an acknowledged step: it is there, at that version or
// later, and in the acknowledged state when at that version.
func checkAcknowledged(t *testing.T, srv *crashServer, acked *acks) {
	t.Helper()
	acked.mu.Lock()
	defer acked.mu.Unlock()
	if len(acked.last) == 0 {
		t.Fatal("nothing was acknowledged")
	}
	for id, a := range acked.last {
		status, m, err := srv.do("alice", http.MethodGet, "/v1/dossiers/"+id, nil)
		if err != nil || status != http.StatusOK {
			t.Fatalf("dossier %s after restart: %d %v", id, status, err)
		}
		v, _ := m["version"].(float64)
		if int64(v) < a.version {
			t.Fatalf("dossier %s after restart: version %v, acknowledged %d", id, m["version"], a.version)
		}
		if int64(v) == a.version && m["state"] != a.state {
			t.Fatalf("dossier %s: state %v, acknowledged %s", id, m["state"], a.state)
		}
	}
}

// finishJourney takes a dossier from wherever it stopped to acknowledged.
func finishJourney(t *testing.T, srv *crashServer, acked *acks, id string) {
	t.Helper()
	for range 6 {
		status, m, err := srv.do("alice", http.MethodGet, "/v1/dossiers/"+id, nil)
		if err != nil || status != http.StatusOK {
			t.Fatalf("dossier %s: %d %v", id, status, err)
		}
		state, _ := m["state"].(string)
		if state == string(dossier.StateAcknowledged) {
			return
		}
		who, path, body := crashStep(state, id, "")
		if who == "" {
			t.Fatalf("dossier %s is in state %s", id, state)
		}
		status, m, err = srv.do(who, http.MethodPost, path, body)
		if err != nil || status/100 != 2 {
			t.Fatalf("dossier %s: %s from %s after restart: %d %v %v", id, path, state, status, m, err)
		}
		acked.record(m)
	}
	t.Fatalf("dossier %s did not reach acknowledged", id)
}

func dossierIDs(t *testing.T, db *store.DB) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "SELECT id FROM dossiers ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

func crashService(t *testing.T, db *store.DB, key *ecdsa.PrivateKey) (*dossier.Service, *audit.Log) {
	t.Helper()
	ctx := context.Background()
	log, err := audit.New(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := dossier.New(ctx, dossier.Config{DB: db, Audit: log, EventKey: key, Sealer: dossiertest.NewFakeSealer(), Forms: dossiertest.AcceptForms{}})
	if err != nil {
		t.Fatal(err)
	}
	return svc, log
}

func loadDossier(t *testing.T, svc *dossier.Service, id string) *dossier.Dossier {
	t.Helper()
	d, err := svc.Get(context.Background(), &auth.Principal{Role: auth.RoleOfficer, Subject: "check"}, id)
	if err != nil {
		t.Fatalf("dossier %s: %v", id, err)
	}
	return d
}

// verifyAfterCrash checks every dossier in the database: its version
// counts its events, every event's seal verifies, each event has exactly
// one audit row carrying its digest (no audit row of a step that did not
// commit), and the audit chain verifies.
func verifyAfterCrash(t *testing.T, db *store.DB, key *ecdsa.PrivateKey, ids []string) {
	t.Helper()
	ctx := context.Background()
	svc, _ := crashService(t, db, key)
	signer, verifier := audittest.Key(t)
	log, err := audit.New(ctx, db, signer)
	if err != nil {
		t.Fatal(err)
	}
	audittest.Drain(t, log)
	officer := &auth.Principal{Role: auth.RoleOfficer, Subject: "check"}
	events := int64(0)
	for _, id := range ids {
		d, err := svc.Get(ctx, officer, id)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(d.Events)) != d.Version {
			t.Fatalf("dossier %s: version %d with %d events", id, d.Version, len(d.Events))
		}
		if d.State != dossier.StateAcknowledged {
			t.Fatalf("dossier %s: %s after finishing its journey", id, d.State)
		}
		if err := svc.VerifyEvents(ctx, id, &key.PublicKey); err != nil {
			t.Fatal(err)
		}
		audited, err := auditedEvents(ctx, db, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(audited) != len(d.Events) {
			t.Fatalf("dossier %s: %d events, %d audit rows", id, len(d.Events), len(audited))
		}
		for _, e := range d.Events {
			digest, err := e.Digest()
			if err != nil {
				t.Fatal(err)
			}
			if !audited[hex.EncodeToString(digest)] {
				t.Fatalf("dossier %s: event %d has no audit row", id, e.Seq)
			}
		}
		events += d.Version
	}
	rep := audittest.Verify(t, log, verifier)
	if rep.Entries < events || rep.Checkpoint != rep.Entries {
		t.Fatalf("audit has %d entries (checkpoint %d) for %d events", rep.Entries, rep.Checkpoint, events)
	}
}

// auditedEvents returns the event digests the audit log holds for a
// dossier's steps.
func auditedEvents(ctx context.Context, db *store.DB, id string) (map[string]bool, error) {
	rows, err := db.QueryContext(ctx, "SELECT data FROM audit_log WHERE object = $1", "dossier/"+id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		var entry struct {
			Details struct {
				EventSHA256 string `json:"event_sha256"`
			} `json:"details"`
		}
		if err := json.Unmarshal([]byte(raw), &entry); err != nil {
			return nil, err
		}
		d := entry.Details
		if d.EventSHA256 == "" {
			continue // not a step (a download, say)
		}
		if out[d.EventSHA256] {
			return nil, fmt.Errorf("dossier %s: event %s audited twice", id, d.EventSHA256)
		}
		out[d.EventSHA256] = true
	}
	return out, rows.Err()
}
