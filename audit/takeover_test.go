package audit_test

import (
	"context"
	"crypto/rand"
	"os"
	execpkg "os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"kyso/audit"
	"kyso/store"
	"kyso/store/storetest"
)

const (
	envChildDSN  = "KYSO_AUDIT_SEQUENCER_DSN"
	envChildSKey = "KYSO_AUDIT_SEQUENCER_SKEY"
)

// TestSequencerProcess is the sequencing replica the takeover test starts
// in a child process and kills; it does nothing when run directly.
func TestSequencerProcess(t *testing.T) {
	dsn := os.Getenv(envChildDSN)
	if dsn == "" {
		t.Skip("run by TestSequencerTakeover")
	}
	ctx := context.Background()
	db, err := store.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(os.Getenv(envChildSKey))
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.New(ctx, db, s)
	if err != nil {
		t.Fatal(err)
	}
	_ = l.Run(ctx, audit.SequencerOptions{Holder: "child", Interval: 50 * time.Millisecond, LeaseTTL: time.Second})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Killing the sequencing replica (SIGKILL, mid-batch for all it knows)
// while 16 writers keep committing loses no acknowledged entry: another
// replica takes the lease over once it expires, and the log it builds
// holds every acknowledged entry exactly once and verifies.
func TestSequencerTakeover(t *testing.T) {
	engines := map[string]func(t *testing.T) string{
		"postgres": func(t *testing.T) string { return storetest.PostgresDSN(t) },
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "kyso.db") },
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			dsn := engines[name](t)
			ctx := context.Background()
			db, err := store.Open(ctx, dsn, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			skey, vkey, err := note.GenerateKey(rand.Reader, origin)
			if err != nil {
				t.Fatal(err)
			}
			s, _ := note.NewSigner(skey)
			v, _ := note.NewVerifier(vkey)
			l, err := audit.New(ctx, db, s)
			if err != nil {
				t.Fatal(err)
			}
			holder := func() string {
				var h string
				var exp int64
				if err := db.QueryRowContext(ctx, "SELECT holder, expires FROM audit_lease WHERE id = 1").Scan(&h, &exp); err != nil {
					t.Fatal(err)
				}
				return h
			}
			size := func() int64 {
				var n int64
				if err := db.QueryRowContext(ctx, "SELECT size FROM audit_tree WHERE id = 1").Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}

			child := execpkg.Command(os.Args[0], "-test.run", "^TestSequencerProcess$", "-test.count=1")
			child.Env = append(os.Environ(), envChildDSN+"="+dsn, envChildSKey+"="+skey)
			if err := child.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
			waitFor(t, "the child to take the lease", func() bool { return holder() == "child" })

			// 16 writers commit entries until told to stop (400 each at most); only entries
			// whose Append returned nil count as acknowledged.
			stop := make(chan struct{})
			var mu sync.Mutex
			acked := map[string]bool{}
			var wg sync.WaitGroup
			for w := 0; w < 16; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 400; i++ { // bounded: the test checks every entry
						select {
						case <-stop:
							return
						default:
						}
						id := audit.NewID()
						if err := l.Append(ctx, audit.Event{ID: id, Actor: "writer", Action: "test.write", Object: "x"}); err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						acked[id] = true
						mu.Unlock()
					}
				}()
			}
			waitFor(t, "the child to sequence entries", func() bool { return size() >= 200 })
			if err := child.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = child.Wait()
			atKill := size()

			rctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				defer close(done)
				_ = l.Run(rctx, audit.SequencerOptions{Holder: "replica-2", Interval: 50 * time.Millisecond, LeaseTTL: time.Second})
			}()
			waitFor(t, "the other replica to take over and sequence", func() bool { return holder() == "replica-2" && size() >= atKill+200 })
			close(stop)
			wg.Wait()
			waitFor(t, "every entry to be sequenced", func() bool {
				n, err := l.Pending(ctx)
				return err == nil && n == 0
			})
			cancel()
			<-done

			rows, err := db.QueryContext(ctx, "SELECT id FROM audit_log")
			if err != nil {
				t.Fatal(err)
			}
			logged := map[string]int{}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				logged[id]++
			}
			rows.Close()
			for id := range acked {
				if logged[id] != 1 {
					t.Fatalf("acknowledged entry %s is in the log %d times", id, logged[id])
				}
			}
			rep, err := l.Verify(ctx, audit.VerifyOptions{Verifier: v})
			if err != nil || rep.Divergence != nil || rep.Entries != int64(len(logged)) || len(logged) != len(acked) {
				t.Fatalf("after takeover: %+v %v (%d logged, %d acknowledged)", rep, err, len(logged), len(acked))
			}
			t.Logf("%s: %d entries, %d sequenced by the killed replica", name, rep.Entries, atKill)
		})
	}
}
