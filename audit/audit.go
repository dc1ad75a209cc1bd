// Package audit is Kyso's tamper-evident audit log. Every event is appended
// to a hash chain in the store: each row's hash covers its content and the
// previous row's hash, so an edited, removed or reordered row breaks the
// chain from that point. Checkpoints sign the chain head with the service
// key in the HSM, so that rewriting the whole chain is detected as well.
package audit

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"embed"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"kyso/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Event is one thing that happened: who did what to which object.
type Event struct {
	Actor   string
	Role    string
	Action  string
	Object  string
	Details map[string]any
}

// Entry is a stored event with its place in the chain.
type Entry struct {
	Seq      int64          `json:"seq"`
	At       time.Time      `json:"at"`
	Actor    string         `json:"actor"`
	Role     string         `json:"role"`
	Action   string         `json:"action"`
	Object   string         `json:"object"`
	Details  map[string]any `json:"details,omitempty"`
	PrevHash []byte         `json:"prev_hash"`
	Hash     []byte         `json:"hash"`
	details  string
}

// Log appends to and reads the audit chain.
type Log struct {
	db     *store.DB
	sealer crypto.Signer
	// CheckpointEvery signs the head after this many appends (0: never
	// automatically).
	CheckpointEvery int64
	now             func() time.Time
}

// New returns the audit log, applying its migrations. sealer signs
// checkpoints; it may be nil, in which case Checkpoint fails.
func New(ctx context.Context, db *store.DB, sealer crypto.Signer) (*Log, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, "audit", sub); err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, $1) ON CONFLICT (id) DO NOTHING", make([]byte, sha256.Size)); err != nil {
		return nil, fmt.Errorf("audit: start chain: %w", err)
	}
	return &Log{db: db, sealer: sealer, CheckpointEvery: 1000, now: time.Now}, nil
}

// SetClock replaces the clock (tests).
func (l *Log) SetClock(now func() time.Time) { l.now = now }

// Append adds ev to the chain in its own transaction.
func (l *Log) Append(ctx context.Context, ev Event) error {
	var seq int64
	err := l.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		seq, err = l.appendTx(ctx, tx, ev)
		return err
	})
	if err != nil {
		return err
	}
	return l.maybeCheckpoint(ctx, seq)
}

// AppendTx adds ev inside the caller's transaction, so that the event is
// recorded exactly when the change it describes is.
func (l *Log) AppendTx(ctx context.Context, tx *sql.Tx, ev Event) error {
	_, err := l.appendTx(ctx, tx, ev)
	return err
}

func (l *Log) appendTx(ctx context.Context, tx *sql.Tx, ev Event) (int64, error) {
	if ev.Action == "" {
		return 0, errors.New("audit: event without action")
	}
	details := "{}"
	if len(ev.Details) > 0 {
		b, err := json.Marshal(ev.Details) // map keys are sorted: canonical
		if err != nil {
			return 0, fmt.Errorf("audit: encode details: %w", err)
		}
		details = string(b)
	}
	q := "SELECT seq, hash FROM audit_head WHERE id = 1"
	if l.db.Dialect == store.Postgres {
		q += " FOR UPDATE"
	}
	var (
		prevSeq  int64
		prevHash []byte
	)
	if err := tx.QueryRowContext(ctx, q).Scan(&prevSeq, &prevHash); err != nil {
		return 0, fmt.Errorf("audit: read head: %w", err)
	}
	e := Entry{Seq: prevSeq + 1, At: l.now().UTC().Truncate(time.Millisecond), Actor: ev.Actor, Role: ev.Role,
		Action: ev.Action, Object: ev.Object, PrevHash: prevHash, details: details}
	e.Hash = e.computeHash()
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (seq, at, actor, role, action, object, details, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, e.Seq, e.At.UnixMilli(), e.Actor, e.Role, e.Action, e.Object, e.details, e.PrevHash, e.Hash); err != nil {
		return 0, fmt.Errorf("audit: append: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1", e.Seq, e.Hash); err != nil {
		return 0, fmt.Errorf("audit: move head: %w", err)
	}
	return e.Seq, nil
}

// computeHash is SHA-256 over the previous hash and the length-prefixed
// fields of the entry.
func (e *Entry) computeHash() []byte {
	h := sha256.New()
	h.Write([]byte("kyso-audit-v1\x00"))
	h.Write(e.PrevHash)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(e.Seq))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(e.At.UnixMilli()))
	h.Write(n[:])
	for _, f := range []string{e.Actor, e.Role, e.Action, e.Object, e.details} {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return h.Sum(nil)
}

func (l *Log) maybeCheckpoint(ctx context.Context, seq int64) error {
	if l.sealer == nil || l.CheckpointEvery <= 0 || seq%l.CheckpointEvery != 0 {
		return nil
	}
	return l.Checkpoint(ctx)
}

// CheckpointIfDue signs the head when CheckpointEvery or more events were
// appended since the last checkpoint. Events appended inside callers'
// transactions (AppendTx) cannot checkpoint themselves, so the server calls
// this periodically.
func (l *Log) CheckpointIfDue(ctx context.Context) error {
	if l.sealer == nil || l.CheckpointEvery <= 0 {
		return nil
	}
	var head, last int64
	if err := l.db.QueryRowContext(ctx, "SELECT seq FROM audit_head WHERE id = 1").Scan(&head); err != nil {
		return fmt.Errorf("audit: read head: %w", err)
	}
	if err := l.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM audit_checkpoints").Scan(&last); err != nil {
		return fmt.Errorf("audit: read checkpoints: %w", err)
	}
	if head-last < l.CheckpointEvery {
		return nil
	}
	return l.Checkpoint(ctx)
}

func checkpointDigest(seq int64, hash []byte) []byte {
	h := sha256.New()
	h.Write([]byte("kyso-audit-checkpoint-v1\x00"))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(seq))
	h.Write(n[:])
	h.Write(hash)
	return h.Sum(nil)
}

// Checkpoint signs the current head with the service key.
func (l *Log) Checkpoint(ctx context.Context) error {
	if l.sealer == nil {
		return errors.New("audit: no checkpoint key configured")
	}
	var seq int64
	var hash []byte
	err := l.db.QueryRowContext(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&seq, &hash)
	if err != nil {
		return fmt.Errorf("audit: read head: %w", err)
	}
	if seq == 0 {
		return nil
	}
	pub, err := x509.MarshalPKIXPublicKey(l.sealer.Public())
	if err != nil {
		return fmt.Errorf("audit: checkpoint key: %w", err)
	}
	sig, err := l.sealer.Sign(rand.Reader, checkpointDigest(seq, hash), crypto.SHA256)
	if err != nil {
		return fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	_, err = l.db.ExecContext(ctx, `INSERT INTO audit_checkpoints (seq, hash, at, algorithm, public_key, signature)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (seq) DO NOTHING`, seq, hash, l.now().UnixMilli(), "sha256", pub, sig)
	if err != nil {
		return fmt.Errorf("audit: store checkpoint: %w", err)
	}
	return nil
}

// Filter selects entries for List.
type Filter struct {
	Object   string
	Actor    string
	AfterSeq int64
	Limit    int
}

// List returns entries in chain order.
func (l *Log) List(ctx context.Context, f Filter) ([]Entry, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	q := "SELECT seq, at, actor, role, action, object, details, prev_hash, hash FROM audit_log WHERE seq > $1"
	args := []any{f.AfterSeq}
	if f.Object != "" {
		args = append(args, f.Object)
		q += fmt.Sprintf(" AND object = $%d", len(args))
	}
	if f.Actor != "" {
		args = append(args, f.Actor)
		q += fmt.Sprintf(" AND actor = $%d", len(args))
	}
	args = append(args, f.Limit)
	q += fmt.Sprintf(" ORDER BY seq LIMIT $%d", len(args))
	rows, err := l.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(e.details), &e.Details); err != nil {
			e.Details = map[string]any{"unparsable": e.details}
		}
		out = append(out, *e)
	}
	return out, rows.Err()
}

func scanEntry(rows *sql.Rows) (*Entry, error) {
	var e Entry
	var at int64
	if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Role, &e.Action, &e.Object, &e.details, &e.PrevHash, &e.Hash); err != nil {
		return nil, fmt.Errorf("audit: read entry: %w", err)
	}
	e.At = time.UnixMilli(at).UTC()
	return &e, nil
}

// Break is the first place where the chain does not hold.
type Break struct {
	Seq    int64  `json:"seq"`
	Reason string `json:"reason"`
}

func (b *Break) Error() string { return fmt.Sprintf("audit row %d: %s", b.Seq, b.Reason) }

// Report is the outcome of Verify.
type Report struct {
	Entries     int64  `json:"entries"`
	Checkpoints int    `json:"checkpoints"`
	HeadSeq     int64  `json:"head_seq"`
	Broken      *Break `json:"broken,omitempty"`
}

// Verify walks the whole chain and the checkpoints. trusted, when given,
// are the only keys checkpoints may be signed with. It returns the first
// broken link in the report; the error is for failures to read.
func (l *Log) Verify(ctx context.Context, trusted ...crypto.PublicKey) (*Report, error) {
	rep := &Report{}
	cps, err := l.checkpoints(ctx)
	if err != nil {
		return nil, err
	}
	rep.Checkpoints = len(cps)
	rows, err := l.db.QueryContext(ctx, "SELECT seq, at, actor, role, action, object, details, prev_hash, hash FROM audit_log ORDER BY seq")
	if err != nil {
		return nil, fmt.Errorf("audit: read chain: %w", err)
	}
	defer rows.Close()
	prev := make([]byte, sha256.Size)
	var last int64
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, err
		}
		rep.Entries++
		switch {
		case e.Seq != last+1:
			rep.Broken = &Break{Seq: last + 1, Reason: fmt.Sprintf("row missing (next row is %d)", e.Seq)}
		case !bytes.Equal(e.PrevHash, prev):
			rep.Broken = &Break{Seq: e.Seq, Reason: "previous-hash link does not match the row before"}
		case !bytes.Equal(e.computeHash(), e.Hash):
			rep.Broken = &Break{Seq: e.Seq, Reason: "content does not match its hash (row edited)"}
		}
		if cp, ok := cps[e.Seq]; ok && rep.Broken == nil && !bytes.Equal(cp.hash, e.Hash) {
			rep.Broken = &Break{Seq: e.Seq, Reason: "row differs from its signed checkpoint (chain rewritten)"}
		}
		if rep.Broken != nil {
			return rep, nil
		}
		prev, last = e.Hash, e.Seq
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rep.HeadSeq = last
	var headSeq int64
	var headHash []byte
	err = l.db.QueryRowContext(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&headSeq, &headHash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if last != 0 {
			rep.Broken = &Break{Seq: last, Reason: "chain head record is missing"}
		}
	case err != nil:
		return nil, fmt.Errorf("audit: read head: %w", err)
	case headSeq != last || !bytes.Equal(headHash, prev):
		rep.Broken = &Break{Seq: last + 1, Reason: fmt.Sprintf("rows after %d are missing (head is at %d)", last, headSeq)}
	}
	if rep.Broken != nil {
		return rep, nil
	}
	for seq, cp := range cps {
		if seq > last {
			rep.Broken = &Break{Seq: last + 1, Reason: fmt.Sprintf("signed checkpoint at %d is past the end of the chain", seq)}
			return rep, nil
		}
		if b := cp.verify(seq, trusted); b != "" {
			rep.Broken = &Break{Seq: seq, Reason: b}
			return rep, nil
		}
	}
	return rep, nil
}

type checkpoint struct {
	hash, pub, sig []byte
}

func (cp checkpoint) verify(seq int64, trusted []crypto.PublicKey) string {
	pub, err := x509.ParsePKIXPublicKey(cp.pub)
	if err != nil {
		return "checkpoint key unreadable"
	}
	if len(trusted) > 0 {
		ok := false
		for _, t := range trusted {
			if eq, is := t.(interface{ Equal(crypto.PublicKey) bool }); is && eq.Equal(pub) {
				ok = true
			}
		}
		if !ok {
			return "checkpoint signed by an untrusted key"
		}
	}
	if err := verifySignature(pub, checkpointDigest(seq, cp.hash), cp.sig); err != nil {
		return "checkpoint signature invalid"
	}
	return ""
}

func (l *Log) checkpoints(ctx context.Context) (map[int64]checkpoint, error) {
	rows, err := l.db.QueryContext(ctx, "SELECT seq, hash, public_key, signature FROM audit_checkpoints")
	if err != nil {
		return nil, fmt.Errorf("audit: read checkpoints: %w", err)
	}
	defer rows.Close()
	out := map[int64]checkpoint{}
	for rows.Next() {
		var seq int64
		var cp checkpoint
		if err := rows.Scan(&seq, &cp.hash, &cp.pub, &cp.sig); err != nil {
			return nil, err
		}
		out[seq] = cp
	}
	return out, rows.Err()
}
