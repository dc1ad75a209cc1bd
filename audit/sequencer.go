package audit

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"kyso/store"
)

// ErrNotLeader is returned by Sequence when another replica holds the
// sequencer lease.
var ErrNotLeader = errors.New("audit: another replica is sequencing")

// SequencerOptions configure Run.
type SequencerOptions struct {
	// Holder names this replica in the lease (a random id when empty).
	Holder string
	// Interval between integration rounds (default 250ms): a checkpoint is
	// signed at most this long after an entry commits, when this replica
	// holds the lease.
	Interval time.Duration
	// LeaseTTL is how long the lease outlives its last renewal (default
	// 3s): another replica takes over this long after the sequencer died.
	LeaseTTL time.Duration
	// Batch is the most entries integrated in one transaction (default 4096).
	Batch int
}

func (o SequencerOptions) withDefaults() SequencerOptions {
	if o.Holder == "" {
		o.Holder = NewID()
	}
	if o.Interval <= 0 {
		o.Interval = 250 * time.Millisecond
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 3 * time.Second
	}
	if o.LeaseTTL < 2*o.Interval {
		o.LeaseTTL = 2 * o.Interval
	}
	if o.Batch <= 0 {
		o.Batch = 4096
	}
	return o
}

// Run sequences pending entries until ctx ends: every Interval it tries
// to take or renew the lease and, holding it, integrates what is pending.
func (l *Log) Run(ctx context.Context, opts SequencerOptions) error {
	if l.signer == nil {
		return errors.New("audit: sequencer needs the log key")
	}
	opts = opts.withDefaults()
	t := time.NewTicker(opts.Interval)
	defer t.Stop()
	leader := false
	for {
		n, err := l.Sequence(ctx, opts)
		switch {
		case errors.Is(err, ErrNotLeader):
			if leader {
				l.log.Info("audit: sequencer lease lost", "holder", opts.Holder)
			}
			leader = false
		case err != nil:
			if ctx.Err() != nil {
				return nil
			}
			l.log.Warn("audit: sequencing", "err", err)
		default:
			if !leader {
				l.log.Info("audit: sequencer lease taken", "holder", opts.Holder)
			}
			leader = true
			if n >= opts.Batch {
				continue // more waiting: go on at once
			}
		}
		select {
		case <-ctx.Done():
			if leader {
				l.release(opts.Holder)
			}
			return nil
		case <-t.C:
		}
	}
}

// release gives the lease up at shutdown so that another replica takes
// over at once.
func (l *Log) release(holder string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, _ = l.db.ExecContext(ctx, "UPDATE audit_lease SET expires = 0 WHERE id = 1 AND holder = $1", holder)
}

type pendingRow struct {
	pid                         int64
	id                          string
	at                          int64
	actor, role, action, object string
	data                        []byte
}

// Sequence runs one integration round as opts.Holder: it takes or renews
// the lease, integrates up to opts.Batch pending entries and signs a
// checkpoint of the new tree. It returns the number of entries integrated,
// or ErrNotLeader.
//
// The round keeps its write transaction short, since on SQLite every
// writer waits for it: the lease is checked (read, or taken or renewed
// by one statement when it must be); the batch is read, hashed into the tree and its checkpoint signed (by
// the HSM) outside any transaction; then one transaction renews the lease
// again, moves the tree from the size the batch was computed on to the
// new one, and writes the entries, their hashes and the checkpoint. Only
// the lease holder moves the tree, and that transaction commits only if
// this replica still holds the lease and the tree is still the one the
// batch extends, so two replicas never integrate the same entries and a
// replica whose lease expired mid-round commits nothing.
func (l *Log) Sequence(ctx context.Context, opts SequencerOptions) (int, error) {
	if l.signer == nil {
		return 0, errors.New("audit: sequencer needs the log key")
	}
	opts = opts.withDefaults()
	// The round's reads share one connection: with writers holding the
	// pool's connections, each new one is a wait.
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("audit: sequencer connection: %w", err)
	}
	r, err := l.checkAndPrepare(ctx, conn, opts)
	conn.Close()
	if err != nil || r == nil {
		return 0, err
	}
	if l.afterPrepare != nil {
		l.afterPrepare()
	}
	err = l.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := l.renewLease(ctx, tx, opts); err != nil {
			return err
		}
		at := l.now().UnixMilli()
		res, err := tx.ExecContext(ctx, "UPDATE audit_tree SET size = $1, root = $2 WHERE id = 1 AND size = $3", r.newSize, r.root[:], r.size)
		if err != nil {
			return fmt.Errorf("audit: move tree: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			// Another sequencer moved the tree since this round read it.
			return ErrNotLeader
		}
		// Pending entries move within the database, whatever the batch
		// size: on SQLite one statement copies them in pid order and one
		// deletes them (its parser's cost grows with the square of a
		// statement's numbered parameters, which made multi-row VALUES
		// inserts the bulk of a round), on PostgreSQL one statement
		// deletes them and inserts what it deleted; the hashes go in with
		// one statement too. Rows of the old hash chain (no pid) are
		// inserted from the batch.
		if len(r.pids) == len(r.batch) {
			if err := l.movePending(ctx, tx, r.size, r.pids); err != nil {
				return err
			}
		} else {
			if err := insertEntries(ctx, tx, r.size, r.batch); err != nil {
				return err
			}
			if err := deletePending(ctx, tx, r.pids); err != nil {
				return err
			}
		}
		if l.db.Dialect == store.SQLite {
			if err := insertHashesJSON(ctx, tx, r.hashes); err != nil {
				return err
			}
		} else if err := insertHashesArray(ctx, tx, r.hashes); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO audit_checkpoints (size, root, at, note) VALUES ($1, $2, $3, $4)",
			r.newSize, r.root[:], at, string(r.note)); err != nil {
			return fmt.Errorf("audit: store checkpoint: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(r.batch), nil
}

// checkLease makes sure opts.Holder holds the lease before a round is
// computed. It only reads while the lease is this holder's for more than
// half its time to live (the round's commit renews it); it takes an
// expired lease, or renews one past half its time, with one statement.
func (l *Log) checkLease(ctx context.Context, conn *sql.Conn, opts SequencerOptions) error {
	var holder string
	var expires int64
	if err := conn.QueryRowContext(ctx, "SELECT holder, expires FROM audit_lease WHERE id = 1").Scan(&holder, &expires); err != nil {
		return fmt.Errorf("audit: lease: %w", err)
	}
	now := l.now().UnixMilli()
	switch {
	case holder == opts.Holder && expires-now > opts.LeaseTTL.Milliseconds()/2:
		return nil
	case holder != opts.Holder && expires >= now:
		return ErrNotLeader
	}
	return l.renewLease(ctx, conn, opts)
}

// renewLease takes the sequencer lease for opts.Holder, or extends it,
// with one statement; ErrNotLeader when another holder's lease is current.
func (l *Log) renewLease(ctx context.Context, db interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}, opts SequencerOptions) error {
	now := l.now().UnixMilli()
	res, err := db.ExecContext(ctx, "UPDATE audit_lease SET holder = $1, expires = $2 WHERE id = 1 AND (holder = $1 OR expires < $3)",
		opts.Holder, now+opts.LeaseTTL.Milliseconds(), now)
	if err != nil {
		return fmt.Errorf("audit: lease: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return ErrNotLeader
	}
	return nil
}

// round is one integration round computed outside any transaction: the
// batch, the tree it extends and the new tree's hashes and signed
// checkpoint.
type round struct {
	size, newSize int64
	batch         []pendingRow
	pids          []any
	hashes        map[int64]tlog.Hash
	root          tlog.Hash
	note          []byte
}

// prepare reads the tree and the next batch, hashes the batch into the
// tree and signs the new checkpoint, writing nothing. It returns nil when
// nothing is pending.
func (l *Log) checkAndPrepare(ctx context.Context, conn *sql.Conn, opts SequencerOptions) (*round, error) {
	if err := l.checkLease(ctx, conn, opts); err != nil {
		return nil, err
	}
	return l.prepare(ctx, conn, opts)
}

func (l *Log) prepare(ctx context.Context, conn *sql.Conn, opts SequencerOptions) (*round, error) {
	r := &round{}
	var root []byte
	if err := conn.QueryRowContext(ctx, "SELECT size, root FROM audit_tree WHERE id = 1").Scan(&r.size, &root); err != nil {
		return nil, fmt.Errorf("audit: read tree: %w", err)
	}
	var err error
	if !l.chainChecked.Load() {
		if r.batch, err = l.legacyBatch(ctx, conn, r.size, opts.Batch); err != nil {
			return nil, err
		}
		if len(r.batch) == 0 {
			// The chain is read-only: once integrated, it stays so.
			l.chainChecked.Store(true)
		}
	}
	if len(r.batch) == 0 {
		if r.batch, err = l.pendingBatch(ctx, conn, opts.Batch); err != nil {
			return nil, err
		}
	}
	if len(r.batch) == 0 {
		return nil, nil
	}
	overlay := map[int64]tlog.Hash{}
	hr := hashReader(ctx, conn, overlay)
	r.pids = make([]any, 0, len(r.batch))
	r.hashes = map[int64]tlog.Hash{}
	for i, p := range r.batch {
		idx := r.size + int64(i)
		hashes, err := tlog.StoredHashes(idx, p.data, hr)
		if err != nil {
			return nil, fmt.Errorf("audit: hash entry %d: %w", idx, err)
		}
		base := tlog.StoredHashIndex(0, idx)
		for j, h := range hashes {
			overlay[base+int64(j)] = h
			r.hashes[base+int64(j)] = h
		}
		if p.pid > 0 {
			r.pids = append(r.pids, p.pid)
		}
	}
	r.newSize = r.size + int64(len(r.batch))
	if r.root, err = tlog.TreeHash(r.newSize, hr); err != nil {
		return nil, fmt.Errorf("audit: tree hash: %w", err)
	}
	cp := Checkpoint{Origin: l.signer.Name(), Size: r.newSize, Root: r.root}
	if r.note, err = note.Sign(&note.Note{Text: string(cp.Format())}, l.signer); err != nil {
		return nil, fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	return r, nil
}

func (l *Log) pendingBatch(ctx context.Context, conn *sql.Conn, limit int) ([]pendingRow, error) {
	rows, err := conn.QueryContext(ctx, "SELECT pid, id, at, actor, role, action, object, data FROM audit_pending ORDER BY pid LIMIT $1", limit)
	if err != nil {
		return nil, fmt.Errorf("audit: read pending: %w", err)
	}
	defer rows.Close()
	var out []pendingRow
	for rows.Next() {
		var p pendingRow
		if err := rows.Scan(&p.pid, &p.id, &p.at, &p.actor, &p.role, &p.action, &p.object, &p.data); err != nil {
			return nil, fmt.Errorf("audit: read pending: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// legacyBatch returns the next rows of the old hash chain to become leaves
// (the first leaves of the tree, before any new entry).
func (l *Log) legacyBatch(ctx context.Context, tx querier, size int64, limit int) ([]pendingRow, error) {
	var n int64
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_chain").Scan(&n); err != nil {
		return nil, fmt.Errorf("audit: count chain: %w", err)
	}
	if size >= n {
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, "SELECT seq, at, actor, role, action, object, details, hash FROM audit_chain ORDER BY seq LIMIT $1 OFFSET $2", limit, size)
	if err != nil {
		return nil, fmt.Errorf("audit: read chain: %w", err)
	}
	defer rows.Close()
	var out []pendingRow
	for rows.Next() {
		var seq, at int64
		var actor, role, action, object, details string
		var hash []byte
		if err := rows.Scan(&seq, &at, &actor, &role, &action, &object, &details, &hash); err != nil {
			return nil, fmt.Errorf("audit: read chain: %w", err)
		}
		lf := leaf{ID: "chain-" + strconv.FormatInt(seq, 10), At: time.UnixMilli(at).UTC().Format(timeFormat), Actor: actor, Role: role,
			Action: action, Object: object, Legacy: &legacyRef{Seq: seq, Hash: hex.EncodeToString(hash)}}
		if details != "" && details != "{}" {
			lf.Details = []byte(details)
		}
		data, err := encodeLeaf(lf)
		if err != nil {
			// Keep the chain's own bytes out of an invalid leaf: details
			// that are not JSON are carried as a string.
			lf.Details, _ = jsonString(details)
			if data, err = encodeLeaf(lf); err != nil {
				return nil, err
			}
		}
		out = append(out, pendingRow{id: lf.ID, at: at, actor: actor, role: role, action: action, object: object, data: data})
	}
	return out, rows.Err()
}

func insertEntries(ctx context.Context, tx *sql.Tx, first int64, batch []pendingRow) error {
	for off := 0; off < len(batch); off += 100 {
		chunk := batch[off:min(off+100, len(batch))]
		var sb strings.Builder
		args := make([]any, 0, 8*len(chunk))
		sb.WriteString("INSERT INTO audit_log (idx, id, at, actor, role, action, object, data) VALUES ")
		for i, p := range chunk {
			if i > 0 {
				sb.WriteByte(',')
			}
			k := 8 * i
			fmt.Fprintf(&sb, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", k+1, k+2, k+3, k+4, k+5, k+6, k+7, k+8)
			args = append(args, first+int64(off+i), p.id, p.at, p.actor, p.role, p.action, p.object, p.data)
		}
		if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
			return fmt.Errorf("audit: sequence entries from %d: %w", first+int64(off), err)
		}
	}
	return nil
}

// insertHashesJSON stores the batch's new tree hashes on SQLite with one
// INSERT … SELECT over a JSON array of [n, hex hash] pairs.
func insertHashesJSON(ctx context.Context, tx *sql.Tx, hashes map[int64]tlog.Hash) error {
	if len(hashes) == 0 {
		return nil
	}
	keys := make([]int64, 0, len(hashes))
	for n := range hashes {
		keys = append(keys, n)
	}
	slices.Sort(keys)
	var sb strings.Builder
	sb.WriteByte('[')
	for i, n := range keys {
		if i > 0 {
			sb.WriteByte(',')
		}
		h := hashes[n]
		fmt.Fprintf(&sb, "[%d,\"%x\"]", n, h[:])
	}
	sb.WriteByte(']')
	q := "INSERT INTO audit_hashes (n, hash) SELECT json_extract(value, '$[0]'), unhex(json_extract(value, '$[1]')) FROM json_each($1)"
	res, err := tx.ExecContext(ctx, q, sb.String())
	if err != nil {
		return fmt.Errorf("audit: store hashes: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != int64(len(keys)) {
		return fmt.Errorf("audit: store hashes: %d of %d stored (%v)", n, len(keys), err)
	}
	return nil
}

func deletePending(ctx context.Context, tx *sql.Tx, pids []any) error {
	for len(pids) > 0 {
		chunk := pids
		if len(chunk) > 500 {
			chunk = chunk[:500]
		}
		pids = pids[len(chunk):]
		ph := make([]string, len(chunk))
		for i := range chunk {
			ph[i] = "$" + strconv.Itoa(i+1)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM audit_pending WHERE pid IN ("+strings.Join(ph, ",")+")", chunk...); err != nil {
			return fmt.Errorf("audit: clear pending: %w", err)
		}
	}
	return nil
}

// movePending integrates the pending rows pids (in ascending pid order, as
// read and hashed) as the leaves first, first+1, …: on SQLite it copies
// them into audit_log with one INSERT … SELECT and deletes them with one
// DELETE, the pids passed as one JSON array; on PostgreSQL one DELETE …
// RETURNING feeds the INSERT, the pids passed as one array. The rows
// cannot change in between (only the lease holder deletes pending rows,
// and the round commits only if the tree is still the one it read), and
// every statement must touch exactly len(pids) rows or the round is rolled
// back.
func (l *Log) movePending(ctx context.Context, tx *sql.Tx, first int64, pids []any) error {
	if l.db.Dialect == store.Postgres {
		ids := make([]int64, len(pids))
		for i, p := range pids {
			ids[i] = p.(int64)
		}
		res, err := tx.ExecContext(ctx, `WITH moved AS (DELETE FROM audit_pending WHERE pid = ANY($1) RETURNING pid, id, at, actor, role, action, object, data)
			INSERT INTO audit_log (idx, id, at, actor, role, action, object, data)
			SELECT $2 + ROW_NUMBER() OVER (ORDER BY pid) - 1, id, at, actor, role, action, object, data FROM moved`, ids, first)
		if err != nil {
			return fmt.Errorf("audit: sequence entries from %d: %w", first, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(len(pids)) {
			return fmt.Errorf("audit: sequence entries from %d: %d of %d moved (%v)", first, n, len(pids), err)
		}
		return nil
	}
	var sb strings.Builder
	sb.WriteByte('[')
	for i, p := range pids {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strconv.FormatInt(p.(int64), 10))
	}
	sb.WriteByte(']')
	const set = "SELECT value FROM json_each($1)"
	res, err := tx.ExecContext(ctx, `INSERT INTO audit_log (idx, id, at, actor, role, action, object, data)
		SELECT $2 + ROW_NUMBER() OVER (ORDER BY pid) - 1, id, at, actor, role, action, object, data
		FROM audit_pending WHERE pid IN (`+set+`)`, sb.String(), first)
	if err != nil {
		return fmt.Errorf("audit: sequence entries from %d: %w", first, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != int64(len(pids)) {
		return fmt.Errorf("audit: sequence entries from %d: %d of %d moved (%v)", first, n, len(pids), err)
	}
	res, err = tx.ExecContext(ctx, "DELETE FROM audit_pending WHERE pid IN ("+set+")", sb.String())
	if err != nil {
		return fmt.Errorf("audit: clear pending: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != int64(len(pids)) {
		return fmt.Errorf("audit: clear pending: %d of %d deleted (%v)", n, len(pids), err)
	}
	return nil
}

// insertHashesArray stores the batch's new tree hashes on PostgreSQL with
// one statement over two arrays.
func insertHashesArray(ctx context.Context, tx *sql.Tx, hashes map[int64]tlog.Hash) error {
	if len(hashes) == 0 {
		return nil
	}
	ns := make([]int64, 0, len(hashes))
	for n := range hashes {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	hs := make([][]byte, len(ns))
	for i, n := range ns {
		h := hashes[n]
		hs[i] = h[:]
	}
	res, err := tx.ExecContext(ctx, "INSERT INTO audit_hashes (n, hash) SELECT * FROM unnest($1::BIGINT[], $2::BYTEA[])", ns, hs)
	if err != nil {
		return fmt.Errorf("audit: store hashes: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != int64(len(ns)) {
		return fmt.Errorf("audit: store hashes: %d of %d stored (%v)", n, len(ns), err)
	}
	return nil
}
