// Package store is Kyso's persistence: an embedded SQLite database by
// default and PostgreSQL when a DSN is configured, behind one database/sql
// handle. Components bring their own embedded, versioned migrations written
// in a small portable SQL dialect (see Migrate); queries use $N placeholders,
// which both drivers accept.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names the SQL engine behind a DB.
type Dialect int

const (
	// SQLite is the embedded engine (modernc.org/sqlite).
	SQLite Dialect = iota
	// Postgres is PostgreSQL through pgx.
	Postgres
)

func (d Dialect) String() string {
	if d == Postgres {
		return "postgres"
	}
	return "sqlite"
}

// DB is an open database.
type DB struct {
	*sql.DB
	Dialect Dialect
	log     *slog.Logger
	// writeGate admits one InTx at a time on SQLite (nil on PostgreSQL).
	// Its transactions take the write lock at BEGIN, and a connection that
	// finds it taken polls with sleeps of up to 100 ms (SQLite's busy
	// handler): with many writers, the lock would sit idle between them.
	// Waiting here hands it over as soon as the holder commits, in order.
	writeGate chan struct{}
	// stopCheckpoints ends the SQLite checkpointer (nil on PostgreSQL).
	stopCheckpoints chan struct{}
	checkpointsDone chan struct{}
	closeOnce       sync.Once
}

// checkpointEvery is how often the SQLite checkpointer copies the WAL back
// into the database file; walSafetyPages is the WAL size (4 KiB pages) at
// which a committing writer checkpoints itself, should the checkpointer
// fall behind; busyTimeout is how long a transaction waits for the write
// lock, at the gate or in SQLite's busy handler.
const (
	checkpointEvery = 250 * time.Millisecond
	walSafetyPages  = 4096
	busyTimeout     = 10 * time.Second
)

// ErrBusy is returned by InTx when the write lock stayed taken for the
// whole busy timeout.
var ErrBusy = errors.New("store: the database stayed busy")

// Open opens the database named by dsn: "" or "sqlite:PATH" (or a bare path)
// opens an embedded SQLite file, "postgres://…" or "postgresql://…" opens
// PostgreSQL. The connection is checked before Open returns.
func Open(ctx context.Context, dsn string, log *slog.Logger) (*DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var (
		db      *sql.DB
		dialect Dialect
		err     error
	)
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		dialect = Postgres
		db, err = sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		db.SetMaxOpenConns(32)
		db.SetMaxIdleConns(8)
		db.SetConnMaxIdleTime(5 * time.Minute)
	default:
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			path = filepath.Join("var", "kyso.db")
		}
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("store: create %s: %w", dir, err)
			}
		}
		q := url.Values{}
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(FULL)")
		// Checkpoints run in the background (checkpointLoop) rather than
		// after the commit of whichever writer crosses SQLite's default 1000
		// pages: that commit returns only once the copy and the database
		// file's fsync are done, with InTx's gate still held.
		q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", walSafetyPages))
		q.Add("_pragma", "foreign_keys(1)")
		q.Set("_txlock", "immediate")
		db, err = sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
		}
		// One writer at a time is SQLite's model; a small pool lets readers
		// run beside it under WAL.
		db.SetMaxOpenConns(8)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect %s: %w", dialect, err)
	}
	d := &DB{DB: db, Dialect: dialect, log: log}
	if dialect == SQLite {
		d.writeGate = make(chan struct{}, 1)
		d.stopCheckpoints, d.checkpointsDone = make(chan struct{}), make(chan struct{})
		go d.checkpointLoop()
	}
	return d, nil
}

// checkpointLoop copies the SQLite WAL into the database file every
// checkpointEvery with a passive checkpoint, which neither waits for nor
// blocks writers and readers. A failing checkpoint (a full disk, a
// vanished directory) is logged at most once a minute.
func (db *DB) checkpointLoop() {
	defer close(db.checkpointsDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	var warned time.Time
	for {
		select {
		case <-db.stopCheckpoints:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), busyTimeout)
		var busy, frames, done int
		err := db.DB.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &done)
		cancel()
		if err != nil && time.Since(warned) > time.Minute {
			warned = time.Now()
			db.log.Warn("store: WAL checkpoint failed", "err", err)
		}
	}
}

// Close stops the SQLite checkpointer and closes the database.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		if db.stopCheckpoints != nil {
			close(db.stopCheckpoints)
			<-db.checkpointsDone
		}
	})
	return db.DB.Close()
}

// InTx runs fn in a transaction, committing when it returns nil and rolling
// back otherwise. SQLite transactions take the write lock at BEGIN, so a
// read-then-write inside fn cannot be interleaved with another writer.
//
// On SQLite, transactions of one process go through InTx one at a time,
// waiting their turn without holding a connection, for at most the busy
// timeout (ErrBusy); other processes still meet SQLite's own busy
// timeout. fn must not start another InTx: it would wait for itself until
// ErrBusy.
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if db.writeGate != nil {
		t := time.NewTimer(busyTimeout)
		select {
		case db.writeGate <- struct{}{}:
			t.Stop()
			defer func() { <-db.writeGate }()
		case <-t.C:
			return fmt.Errorf("store: begin: %w (another transaction held it for %s)", ErrBusy, busyTimeout)
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("store: begin: %w", ctx.Err())
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// IsUniqueViolation reports whether err is a unique or primary-key
// constraint violation.
func IsUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}
