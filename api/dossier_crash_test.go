package api_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"kyso/api"
	"kyso/audit"
	"kyso/auth"
	"kyso/dossier"
	"kyso/dossier/dossiertest"
	"kyso/store"
)

const crashDirEnv = "KYSO_DOSSIER_CRASH_DIR"

// TestDossierCrashChild is the server process of TestDossierCrashSafety; it
// does nothing unless started by it.
func TestDossierCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("helper process of TestDossierCrashSafety")
	}
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "kyso.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, "event-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(keyPEM)
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

// startChild runs the server in a subprocess on dir and returns its URL.
func startChild(t *testing.T, dir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDossierCrashChild$", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
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
			return cmd, "http://" + addr
		}
	}
	t.Fatalf("child exited without serving: %v", sc.Err())
	return nil, ""
}

// ack is the last step of a dossier the server acknowledged.
type ack struct {
	version int64
	state   string
}

// The server is killed (SIGKILL) while clients run journeys; after a
// restart on the same SQLite file every acknowledged step is there, the
// event seals verify and the audit chain is intact.
func TestDossierCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	ctx := context.Background()
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalECPrivateKey(key)
	if err := os.WriteFile(filepath.Join(dir, "event-key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "kyso.db"), nil)
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
	db.Close()
	tokens := map[string]string{"alice": "alice.jwt", "hn": agencyTok}

	cmd, url := startChild(t, dir)
	var (
		mu    sync.Mutex
		acked = map[string]ack{}
		steps int
	)
	enough := make(chan struct{})
	var once sync.Once
	post := func(who, path string, body any) (map[string]any, bool) {
		var rd *strings.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = strings.NewReader(string(b))
		} else {
			rd = strings.NewReader("")
		}
		req, _ := http.NewRequest("POST", url+path, rd)
		req.Header.Set("Authorization", "Bearer "+tokens[who])
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, false // the server died: not acknowledged
		}
		defer resp.Body.Close()
		var m map[string]any
		if json.NewDecoder(resp.Body).Decode(&m) != nil || resp.StatusCode/100 != 2 {
			return nil, false
		}
		mu.Lock()
		acked[m["id"].(string)] = ack{version: int64(m["version"].(float64)), state: m["state"].(string)}
		steps++
		if steps >= 60 {
			once.Do(func() { close(enough) })
		}
		mu.Unlock()
		return m, true
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				m, ok := post("alice", "/v1/dossiers", map[string]any{"procedure_code": "1.0001", "agency_code": "UBND-HN",
					"form":        map[string]any{"jws": "a.b.c"},
					"attachments": []map[string]any{{"name": fmt.Sprintf("a-%d-%d.pdf", w, i), "data": []byte("attachment")}}})
				if !ok {
					return
				}
				id := m["id"].(string)
				p := "/v1/dossiers/" + id
				for _, s := range []struct {
					who, path string
					body      any
				}{
					{"hn", p + "/receive", map[string]any{"digitized": []map[string]any{{"name": "scan.pdf", "data": []byte("scan")}}}},
					{"hn", p + "/decisions", map[string]string{"decision": "approve"}},
					{"hn", p + "/result", nil},
					{"hn", p + "/return", nil},
					{"alice", p + "/acknowledge", nil},
				} {
					if _, ok := post(s.who, s.path, s.body); !ok {
						return
					}
				}
			}
		}(w)
	}
	<-enough
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	wg.Wait()

	_, url = startChild(t, dir)
	mu.Lock()
	defer mu.Unlock()
	if len(acked) == 0 {
		t.Fatal("nothing was acknowledged")
	}
	db, err = store.Open(ctx, "sqlite:"+filepath.Join(dir, "kyso.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log, err := audit.New(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := dossier.New(ctx, dossier.Config{DB: db, Audit: log, EventKey: key, Sealer: dossiertest.NewFakeSealer(), Forms: dossiertest.AcceptForms{}})
	if err != nil {
		t.Fatal(err)
	}
	officer := &auth.Principal{Role: auth.RoleOfficer, Subject: "check"}
	events := 0
	for id, a := range acked {
		// Through the restarted server, as the citizen.
		req, _ := http.NewRequest("GET", url+"/v1/dossiers/"+id, nil)
		req.Header.Set("Authorization", "Bearer alice.jwt")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if resp.StatusCode != 200 || int64(m["version"].(float64)) < a.version {
			t.Fatalf("dossier %s after restart: %d %v, acknowledged version %d", id, resp.StatusCode, m["version"], a.version)
		}
		d, err := svc.Get(ctx, officer, id)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(d.Events)) != d.Version {
			t.Fatalf("dossier %s: version %d with %d events", id, d.Version, len(d.Events))
		}
		if d.Version == a.version && string(d.State) != a.state {
			t.Fatalf("dossier %s: state %s, acknowledged %s", id, d.State, a.state)
		}
		if err := svc.VerifyEvents(ctx, id, &key.PublicKey); err != nil {
			t.Fatal(err)
		}
		events += len(d.Events)
	}
	rep, err := log.Verify(ctx)
	if err != nil || rep.Broken != nil {
		t.Fatalf("audit after crash: %v %+v", err, rep)
	}
	if rep.Entries < int64(events) {
		t.Fatalf("audit has %d entries for %d acknowledged events", rep.Entries, events)
	}
	t.Logf("%d dossiers, %d acknowledged steps, %d audit entries survived the crash", len(acked), steps, rep.Entries)
}
