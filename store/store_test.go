package store_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"kyso/store"
	"kyso/store/storetest"
)

var testMigrations = fstest.MapFS{
	"001_things.sql": {Data: []byte(`-- a comment line
CREATE TABLE things (
	id AUTOID,
	name TEXT NOT NULL UNIQUE,
	body BLOB,
	n BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX things_n ON things (n);
`)},
	"002_more.sql": {Data: []byte(`ALTER TABLE things ADD COLUMN note TEXT;`)},
	"003_queue.sql": {Data: []byte(`CREATE TABLE queue (
	qid QUEUEID,
	v TEXT NOT NULL
);`)},
	"README.md": {Data: []byte("not a migration")},
}

func TestStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.Migrate(ctx, "test", testMigrations); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		// Applying again is a no-op.
		if err := db.Migrate(ctx, "test", testMigrations); err != nil {
			t.Fatalf("migrate again: %v", err)
		}
		var versions int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE component = $1", "test").Scan(&versions); err != nil {
			t.Fatal(err)
		}
		if versions != 3 {
			t.Fatalf("recorded %d migrations, want 3", versions)
		}

		t.Run("placeholders, blobs and RETURNING", func(t *testing.T) {
			blob := []byte{0, 1, 2, 0xff}
			var id int64
			if err := db.QueryRowContext(ctx, "INSERT INTO things (name, body, n, note) VALUES ($1, $2, $3, $4) RETURNING id", "a", blob, int64(1)<<40, "x").Scan(&id); err != nil {
				t.Fatalf("insert: %v", err)
			}
			var got []byte
			var n int64
			if err := db.QueryRowContext(ctx, "SELECT body, n FROM things WHERE id = $1", id).Scan(&got, &n); err != nil {
				t.Fatal(err)
			}
			if string(got) != string(blob) || n != 1<<40 {
				t.Fatalf("round trip: got %x %d", got, n)
			}
		})

		t.Run("queue keys increase while rows are queued", func(t *testing.T) {
			insert := func(v string) int64 {
				var id int64
				if err := db.QueryRowContext(ctx, "INSERT INTO queue (v) VALUES ($1) RETURNING qid", v).Scan(&id); err != nil {
					t.Fatalf("insert: %v", err)
				}
				return id
			}
			a := insert("a")
			b := insert("b")
			if b <= a {
				t.Fatalf("second key %d after %d", b, a)
			}
			if _, err := db.ExecContext(ctx, "DELETE FROM queue WHERE qid = $1", a); err != nil {
				t.Fatal(err)
			}
			if c := insert("c"); c <= b {
				t.Fatalf("key %d after %d, which is still queued", c, b)
			}
			if db.Dialect == store.SQLite {
				var n int
				if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_sequence'").Scan(&n); err != nil {
					t.Fatal(err)
				}
				var seq int
				if n > 0 {
					if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_sequence WHERE name = 'queue'").Scan(&seq); err != nil {
						t.Fatal(err)
					}
				}
				if seq != 0 {
					t.Fatal("the queue table keeps an AUTOINCREMENT counter")
				}
			}
		})

		t.Run("unique violation is typed", func(t *testing.T) {
			_, err := db.ExecContext(ctx, "INSERT INTO things (name) VALUES ($1)", "dup")
			if err != nil {
				t.Fatal(err)
			}
			_, err = db.ExecContext(ctx, "INSERT INTO things (name) VALUES ($1)", "dup")
			if !store.IsUniqueViolation(err) {
				t.Fatalf("IsUniqueViolation(%v) = false", err)
			}
			if store.IsUniqueViolation(errors.New("other")) {
				t.Fatal("IsUniqueViolation(other) = true")
			}
			_, err = db.ExecContext(ctx, "INSERT INTO things (name) VALUES ($1) ON CONFLICT (name) DO NOTHING", "dup")
			if err != nil {
				t.Fatalf("ON CONFLICT DO NOTHING: %v", err)
			}
		})

		t.Run("rollback on error", func(t *testing.T) {
			boom := errors.New("boom")
			err := db.InTx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, "INSERT INTO things (name) VALUES ($1)", "rolled-back"); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("InTx returned %v", err)
			}
			var n int
			_ = db.QueryRowContext(ctx, "SELECT COUNT(*) FROM things WHERE name = $1", "rolled-back").Scan(&n)
			if n != 0 {
				t.Fatal("rolled back row is visible")
			}
		})

		t.Run("concurrent read-modify-write transactions serialise", func(t *testing.T) {
			if _, err := db.ExecContext(ctx, "INSERT INTO things (name, n) VALUES ($1, 0)", "counter"); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for i := 0; i < 20; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- db.InTx(ctx, func(tx *sql.Tx) error {
						var n int64
						q := "SELECT n FROM things WHERE name = $1"
						if db.Dialect == store.Postgres {
							q += " FOR UPDATE"
						}
						if err := tx.QueryRowContext(ctx, q, "counter").Scan(&n); err != nil {
							return err
						}
						_, err := tx.ExecContext(ctx, "UPDATE things SET n = $1 WHERE name = $2", n+1, "counter")
						return err
					})
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			var n int64
			_ = db.QueryRowContext(ctx, "SELECT n FROM things WHERE name = $1", "counter").Scan(&n)
			if n != 20 {
				t.Fatalf("counter = %d, want 20 (lost updates)", n)
			}
		})
	})
}

func TestMigrateRejectsDuplicateVersions(t *testing.T) {
	db := storetest.SQLite(t)
	err := db.Migrate(context.Background(), "dup", fstest.MapFS{
		"001_a.sql": {Data: []byte("CREATE TABLE a (x TEXT);")},
		"001_b.sql": {Data: []byte("CREATE TABLE b (x TEXT);")},
	})
	if err == nil {
		t.Fatal("duplicate versions accepted")
	}
}

func TestMigrationFailureIsAtomic(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	err := db.Migrate(ctx, "bad", fstest.MapFS{
		"001_bad.sql": {Data: []byte("CREATE TABLE ok1 (x TEXT);\nCREATE TABLE broken (;\n")},
	})
	if err == nil {
		t.Fatal("broken migration accepted")
	}
	var n int
	_ = db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'ok1'").Scan(&n)
	if n != 0 {
		t.Fatal("partial migration left a table behind")
	}
}

func TestOpenDefaultsToSQLiteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "k.db")
	db, err := store.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.Dialect != store.SQLite {
		t.Fatalf("dialect %v", db.Dialect)
	}
	if err := db.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// On SQLite, transactions wait their turn in the process rather than in
// SQLite's busy handler (TestStore shows concurrent read-then-write
// transactions losing nothing on both engines).
func TestSQLiteTransactionsTakeTurns(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "k.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// While one transaction holds the write lock, 20 others wait at the
	// gate without a connection each (the holder's is the only one in use)
	// and give up when their context ends, without running.
	holding, release := make(chan struct{}), make(chan struct{})
	go func() {
		_ = db.InTx(ctx, func(*sql.Tx) error { close(holding); <-release; return nil })
	}()
	<-holding
	var ran atomic.Bool
	waiting := make(chan error, 20)
	for range 20 {
		go func() {
			wctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			defer cancel()
			waiting <- db.InTx(wctx, func(*sql.Tx) error { ran.Store(true); return nil })
		}()
	}
	time.Sleep(200 * time.Millisecond)
	inUse := db.Stats().InUse
	for range 20 {
		if err := <-waiting; !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("waiting transaction: %v, want context.DeadlineExceeded", err)
		}
	}
	close(release)
	if inUse != 1 {
		t.Errorf("%d connections in use while 20 transactions waited, want the holder's only", inUse)
	}
	if ran.Load() {
		t.Error("a transaction ran while another held the write lock")
	}
}

// The SQLite WAL is copied back into the database file in the background:
// writes far below the size at which a committing writer would checkpoint
// itself reach the main file within moments, and Close stops the
// checkpointer (twice is harmless).
func TestSQLiteCheckpointsInTheBackground(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "k.db")
	db, err := store.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	// About 500 WAL frames: half of SQLite's default checkpoint size.
	for i := range 500 {
		if _, err := db.ExecContext(ctx, "INSERT INTO blobs (id, b) VALUES ($1, $2)", i, make([]byte, 3000)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() >= 1400<<10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes after 1.5 MB of commits: the WAL was not checkpointed", fi.Size())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
}
