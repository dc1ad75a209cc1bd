// Package audit is Kyso's audit trail as a verifiable transparency log.
//
// Every certificate, revocation, signature and dossier step writes an entry
// to a pending table inside the transaction of the change it describes
// (AppendTx), so that nothing acknowledged is ever missing from the log and
// writers never wait on one another. A sequencer (Run; one at a time across
// replicas, elected by a lease row in the database) integrates pending
// entries in batches into an RFC 6962 Merkle tree, hashed and proved with
// golang.org/x/mod/sumdb/tlog, and signs a C2SP tlog-checkpoint after each
// batch as a signed note (golang.org/x/mod/sumdb/note) with an Ed25519 key
// held in the HSM. The tree is served as C2SP tlog-tiles, so that anybody
// can verify inclusion of an entry and consistency between two checkpoints
// with tools nobody here wrote.
//
// The hash chain of the log's first version is kept read-only: its rows
// become the first leaves, in order, and VerifyLegacy still checks the chain
// itself for that prefix.
package audit

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"

	"kyso/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// MaxEntrySize is the largest encoded entry: C2SP tlog-tiles entry bundles
// prefix each entry with a 16-bit length.
const MaxEntrySize = 1<<16 - 1

// Event is one thing that happened: who did what to which object.
type Event struct {
	// ID names the entry; empty means a new random id (NewID). Callers that
	// return the id to their client set it beforehand.
	ID      string
	Actor   string
	Role    string
	Action  string
	Object  string
	Details map[string]any
}

// Entry is a logged event. Index is its leaf index in the Merkle tree, or
// -1 while it is pending.
type Entry struct {
	ID      string         `json:"id"`
	Index   int64          `json:"index"`
	At      time.Time      `json:"at"`
	Actor   string         `json:"actor"`
	Role    string         `json:"role"`
	Action  string         `json:"action"`
	Object  string         `json:"object"`
	Details map[string]any `json:"details,omitempty"`
	// Legacy is the sequence number in the hash chain of the log's first
	// version, for entries migrated from it.
	Legacy int64 `json:"legacy_seq,omitempty"`
}

// leaf is the exact JSON of a leaf; its field order is fixed and Details
// keys are sorted by encoding/json, so the bytes are canonical.
type leaf struct {
	ID      string          `json:"id"`
	At      string          `json:"at"`
	Actor   string          `json:"actor"`
	Role    string          `json:"role"`
	Action  string          `json:"action"`
	Object  string          `json:"object"`
	Details json.RawMessage `json:"details,omitempty"`
	Legacy  *legacyRef      `json:"legacy,omitempty"`
}

// legacyRef binds a migrated leaf to its row in the old hash chain.
type legacyRef struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

const timeFormat = "2006-01-02T15:04:05.000Z"

// ParseEntry decodes the leaf bytes of an entry (as served in entry
// bundles and receipts).
func ParseEntry(data []byte) (*Entry, error) {
	var lf leaf
	if err := json.Unmarshal(data, &lf); err != nil {
		return nil, fmt.Errorf("audit: entry: %w", err)
	}
	at, err := time.Parse(timeFormat, lf.At)
	if err != nil {
		return nil, fmt.Errorf("audit: entry time: %w", err)
	}
	e := &Entry{ID: lf.ID, Index: -1, At: at, Actor: lf.Actor, Role: lf.Role, Action: lf.Action, Object: lf.Object}
	if len(lf.Details) > 0 {
		if err := json.Unmarshal(lf.Details, &e.Details); err != nil {
			return nil, fmt.Errorf("audit: entry details: %w", err)
		}
	}
	if lf.Legacy != nil {
		e.Legacy = lf.Legacy.Seq
	}
	return e, nil
}

// Log appends to and reads the audit log.
type Log struct {
	db     *store.DB
	signer note.Signer
	now    func() time.Time
	log    *slog.Logger
	// chainChecked is set once the old hash chain is integrated, so that
	// rounds stop counting its rows.
	chainChecked atomic.Bool
	// afterPrepare runs between a round's computation and its commit
	// (tests).
	afterPrepare func()
}

// Migrate applies the audit log's tables to db.
func Migrate(ctx context.Context, db *store.DB) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	return db.Migrate(ctx, "audit", sub)
}

// New returns the audit log, applying its migrations. signer signs
// checkpoints (NoteSigner over the HSM's log key); it may be nil for a log
// that is only appended to and read, in which case Sequence fails.
func New(ctx context.Context, db *store.DB, signer note.Signer) (*Log, error) {
	if err := Migrate(ctx, db); err != nil {
		return nil, err
	}
	return &Log{db: db, signer: signer, now: time.Now, log: slog.New(slog.DiscardHandler)}, nil
}

// SetClock replaces the clock (tests).
func (l *Log) SetClock(now func() time.Time) { l.now = now }

// SetLogger sets the logger of the sequencer.
func (l *Log) SetLogger(log *slog.Logger) {
	if log != nil {
		l.log = log
	}
}

// Origin is the checkpoint origin (the signer's name), or "" without a
// signer.
func (l *Log) Origin() string {
	if l.signer == nil {
		return ""
	}
	return l.signer.Name()
}

// NewID returns a fresh random entry id (128 bits, base32).
func NewID() string { return strings.ToLower(rand.Text()) }

// ErrEntryTooLarge is returned for an event whose encoding exceeds
// MaxEntrySize.
var ErrEntryTooLarge = errors.New("audit: entry too large")

func encodeLeaf(lf leaf) ([]byte, error) {
	b, err := json.Marshal(lf)
	if err != nil {
		return nil, fmt.Errorf("audit: encode entry: %w", err)
	}
	if len(b) > MaxEntrySize {
		return nil, fmt.Errorf("%w: %d bytes", ErrEntryTooLarge, len(b))
	}
	return b, nil
}

// Append adds ev to the log in its own transaction.
func (l *Log) Append(ctx context.Context, ev Event) error {
	return l.db.InTx(ctx, func(tx *sql.Tx) error { return l.AppendTx(ctx, tx, ev) })
}

// AppendTx adds ev inside the caller's transaction, so that the event is
// recorded exactly when the change it describes is. It only inserts a row
// into the pending table: concurrent writers do not wait on one another.
func (l *Log) AppendTx(ctx context.Context, tx *sql.Tx, ev Event) error {
	if ev.Action == "" {
		return errors.New("audit: event without action")
	}
	if ev.ID == "" {
		ev.ID = NewID()
	}
	at := l.now().UTC().Truncate(time.Millisecond)
	lf := leaf{ID: ev.ID, At: at.Format(timeFormat), Actor: ev.Actor, Role: ev.Role, Action: ev.Action, Object: ev.Object}
	if len(ev.Details) > 0 {
		d, err := json.Marshal(ev.Details) // map keys are sorted: canonical
		if err != nil {
			return fmt.Errorf("audit: encode details: %w", err)
		}
		lf.Details = d
	}
	data, err := encodeLeaf(lf)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_pending (id, at, actor, role, action, object, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, ev.ID, at.UnixMilli(), ev.Actor, ev.Role, ev.Action, ev.Object, data); err != nil {
		return fmt.Errorf("audit: append: %w", err)
	}
	return nil
}

// Filter selects entries for List.
type Filter struct {
	Object string
	Actor  string
	// From skips sequenced entries with a smaller index.
	From  int64
	Limit int
}

// List returns sequenced entries in log order, then pending ones in the
// order they were written.
func (l *Log) List(ctx context.Context, f Filter) ([]Entry, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	where := func(first string, args []any) (string, []any) {
		q := first
		if f.Object != "" {
			args = append(args, f.Object)
			q += fmt.Sprintf(" AND object = $%d", len(args))
		}
		if f.Actor != "" {
			args = append(args, f.Actor)
			q += fmt.Sprintf(" AND actor = $%d", len(args))
		}
		args = append(args, f.Limit)
		return q, args
	}
	// Pending first: an entry moves from pending to the log atomically, so
	// reading in this order sees it at least once.
	pq, pargs := where("SELECT -1, data FROM audit_pending WHERE 1 = 1", nil)
	pending, err := l.listQuery(ctx, pq+fmt.Sprintf(" ORDER BY pid LIMIT $%d", len(pargs)), pargs)
	if err != nil {
		return nil, err
	}
	sq, sargs := where("SELECT idx, data FROM audit_log WHERE idx >= $1", []any{f.From})
	out, err := l.listQuery(ctx, sq+fmt.Sprintf(" ORDER BY idx LIMIT $%d", len(sargs)), sargs)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, e := range out {
		seen[e.ID] = true
	}
	for _, e := range pending {
		if len(out) >= f.Limit {
			break
		}
		if !seen[e.ID] {
			out = append(out, e)
		}
	}
	return out, nil
}

func (l *Log) listQuery(ctx context.Context, q string, args []any) ([]Entry, error) {
	rows, err := l.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var idx int64
		var data []byte
		if err := rows.Scan(&idx, &data); err != nil {
			return nil, fmt.Errorf("audit: read entry: %w", err)
		}
		e, err := ParseEntry(data)
		if err != nil {
			return nil, err
		}
		e.Index = idx
		out = append(out, *e)
	}
	return out, rows.Err()
}

// Pending returns the number of entries waiting for the sequencer.
func (l *Log) Pending(ctx context.Context) (int64, error) {
	var n int64
	if err := l.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_pending").Scan(&n); err != nil {
		return 0, fmt.Errorf("audit: count pending: %w", err)
	}
	return n, nil
}

func jsonString(s string) (json.RawMessage, error) { return json.Marshal(s) }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// LatestID returns the id of the latest entry with the object and action
// (sequenced or pending), or "" when there is none.
func (l *Log) LatestID(ctx context.Context, object, action string) (string, error) {
	var id string
	err := l.db.QueryRowContext(ctx, "SELECT id FROM audit_pending WHERE object = $1 AND action = $2 ORDER BY pid DESC LIMIT 1", object, action).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		err = l.db.QueryRowContext(ctx, "SELECT id FROM audit_log WHERE object = $1 AND action = $2 ORDER BY idx DESC LIMIT 1", object, action).Scan(&id)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("audit: find entry: %w", err)
	}
	return id, nil
}
