package audit

import (
	"bytes"
	"context"
	"crypto"
	"database/sql"
	"fmt"
	"sort"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"kyso/store"
)

// VerifyOptions say what the stored log is checked against.
type VerifyOptions struct {
	// Verifier is the configured log key (never a key read from the log):
	// the latest stored checkpoint and every given checkpoint must be
	// signed by it.
	Verifier note.Verifier
	// Checkpoints are signed checkpoints published earlier (by a witness,
	// a receipt, an auditor's copy) that the stored log must extend.
	Checkpoints [][]byte
	// LegacyTrusted, when given, are the only keys the old hash chain's
	// checkpoints may be signed with.
	LegacyTrusted []crypto.PublicKey
}

// Divergence is the first place where the stored log does not match what
// was signed or published.
type Divergence struct {
	// Index is the first leaf index that differs (or is missing).
	Index  int64  `json:"index"`
	Reason string `json:"reason"`
}

func (d *Divergence) Error() string {
	return fmt.Sprintf("audit log diverges at index %d: %s", d.Index, d.Reason)
}

// Report is the outcome of Verify.
type Report struct {
	// Entries is the number of stored, sequenced entries.
	Entries int64 `json:"entries"`
	// Checkpoint is the size of the latest stored checkpoint.
	Checkpoint int64 `json:"checkpoint_size"`
	// Checked is the number of given checkpoints the log extends.
	Checked    int           `json:"checked"`
	Divergence *Divergence   `json:"divergence,omitempty"`
	Legacy     *LegacyReport `json:"legacy,omitempty"`
}

type memTree struct{ hashes []tlog.Hash }

func (m *memTree) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, n := range idx {
		if n < 0 || n >= int64(len(m.hashes)) {
			return nil, fmt.Errorf("audit: hash %d not computed", n)
		}
		out[i] = m.hashes[n]
	}
	return out, nil
}

// Verify recomputes the Merkle tree from the stored entries and checks
// it: every entry hashes into the stored tree, the latest stored
// checkpoint is signed by the configured key and matches the entries, and
// the log extends (by a consistency proof) every given checkpoint. The
// first divergence, if any, is in the report; the error is for failures
// to read or a missing key.
func (l *Log) Verify(ctx context.Context, opts VerifyOptions) (*Report, error) {
	if opts.Verifier == nil {
		return nil, fmt.Errorf("audit: verify needs the configured log key")
	}
	rep := &Report{}
	// Exact findings name the index; ranged ones (a root that does not
	// match) only say the first divergence is in [Index, end): an exact
	// finding inside the range is the better answer.
	found := func(idx int64, format string, args ...any) {
		if rep.Divergence == nil || idx < rep.Divergence.Index {
			rep.Divergence = &Divergence{Index: idx, Reason: fmt.Sprintf(format, args...)}
		}
	}
	var ranged, bound *Divergence
	var rangedEnd int64
	// A truncation bounds the divergence: entries from n on are missing,
	// but those before may be rewritten too (a ranged finding says so).
	foundBound := func(idx int64, format string, args ...any) {
		if bound == nil || idx < bound.Index {
			bound = &Divergence{Index: idx, Reason: fmt.Sprintf(format, args...)}
		}
	}
	foundRange := func(idx, end int64, format string, args ...any) {
		if ranged == nil || idx < ranged.Index {
			ranged, rangedEnd = &Divergence{Index: idx, Reason: fmt.Sprintf(format, args...)}, end
		}
	}
	// Every table is read in one snapshot: a sequencer committing a round
	// meanwhile (the log is verified live) must not look like a truncation.
	txOpts := &sql.TxOptions{ReadOnly: true}
	if l.db.Dialect == store.Postgres {
		txOpts.Isolation = sql.LevelRepeatableRead
	}
	snap, err := l.db.BeginTx(ctx, txOpts)
	if err != nil {
		return nil, fmt.Errorf("audit: begin read: %w", err)
	}
	defer snap.Rollback() //nolint:errcheck

	// 1. Recompute the tree from the entries' bytes.
	mem := &memTree{}
	rows, err := snap.QueryContext(ctx, "SELECT idx, id, actor, action, object, data FROM audit_log ORDER BY idx")
	if err != nil {
		return nil, fmt.Errorf("audit: read log: %w", err)
	}
	var n int64
	for rows.Next() {
		var idx int64
		var id, actor, action, object string
		var data []byte
		if err := rows.Scan(&idx, &id, &actor, &action, &object, &data); err != nil {
			rows.Close()
			return nil, fmt.Errorf("audit: read entry: %w", err)
		}
		if idx != n {
			found(n, "entry %d is missing (next stored entry is %d)", n, idx)
			break
		}
		if e, err := ParseEntry(data); err != nil || e.ID != id || e.Actor != actor || e.Action != action || e.Object != object {
			found(idx, "entry %d's columns differ from its logged bytes", idx)
		}
		hs, err := tlog.StoredHashesForRecordHash(idx, tlog.RecordHash(data), mem)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("audit: hash entry %d: %w", idx, err)
		}
		mem.hashes = append(mem.hashes, hs...)
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: read log: %w", err)
	}
	rep.Entries = n
	root := func(size int64) tlog.Hash {
		h, _ := tlog.TreeHash(size, mem) // size <= n: every hash is computed
		return h
	}

	// 2. The stored hashes (served as tiles) must be the recomputed ones.
	hrows, err := snap.QueryContext(ctx, "SELECT n, hash FROM audit_hashes ORDER BY n")
	if err != nil {
		return nil, fmt.Errorf("audit: read hashes: %w", err)
	}
	var want int64
	var nodeBad int64 = -1 // first leaf under an edited inner node
	for hrows.Next() {
		var k int64
		var h []byte
		if err := hrows.Scan(&k, &h); err != nil {
			hrows.Close()
			return nil, fmt.Errorf("audit: read hashes: %w", err)
		}
		level, i := tlog.SplitStoredHashIndex(k)
		first := i << uint(level)
		switch {
		case k != want:
			lv, j := tlog.SplitStoredHashIndex(want)
			found(j<<uint(lv), "stored tree hash %d is missing", want)
		case k >= int64(len(mem.hashes)):
			foundBound(n, "the log is truncated: the tree has hashes of entries from index %d on, which are missing", n)
		case !bytes.Equal(h, mem.hashes[k][:]) && level == 0:
			found(first, "the stored tree does not match entry %d's content (entry edited)", first)
		case !bytes.Equal(h, mem.hashes[k][:]) && nodeBad < 0:
			nodeBad = first
		}
		if k != want || k >= int64(len(mem.hashes)) {
			break
		}
		want++
	}
	hrows.Close()
	if err := hrows.Err(); err != nil {
		return nil, fmt.Errorf("audit: read hashes: %w", err)
	}
	if nodeBad >= 0 && rep.Divergence == nil {
		found(nodeBad, "the stored tree above entry %d was edited", nodeBad)
	}
	if want < int64(len(mem.hashes)) && rep.Divergence == nil {
		lv, j := tlog.SplitStoredHashIndex(want)
		found(j<<uint(lv), "stored tree hashes from %d on are missing", want)
	}

	// 3. Stored checkpoints signed by the configured key anchor the log.
	var anchors []int64 // sizes of key-signed checkpoints that match
	foreign, foreignErr := int64(-1), error(nil)
	crows, err := snap.QueryContext(ctx, "SELECT size, note FROM audit_checkpoints ORDER BY size")
	if err != nil {
		return nil, fmt.Errorf("audit: read checkpoints: %w", err)
	}
	type stored struct {
		size int64
		note string
	}
	var cps []stored
	for crows.Next() {
		var s stored
		if err := crows.Scan(&s.size, &s.note); err != nil {
			crows.Close()
			return nil, fmt.Errorf("audit: read checkpoints: %w", err)
		}
		cps = append(cps, s)
	}
	crows.Close()
	if err := crows.Err(); err != nil {
		return nil, fmt.Errorf("audit: read checkpoints: %w", err)
	}
	anchorBelow := func(size int64) int64 {
		i := sort.Search(len(anchors), func(i int) bool { return anchors[i] >= size })
		if i == 0 {
			return 0
		}
		return anchors[i-1]
	}
	for i, s := range cps {
		cp, err := OpenCheckpoint([]byte(s.note), opts.Verifier)
		latest := i == len(cps)-1
		switch {
		case err != nil && latest:
			foreign, foreignErr = s.size, err
		case err != nil:
			// An older checkpoint by another key anchors nothing.
		case cp.Size != s.size:
			found(anchorBelow(s.size), "stored checkpoint row %d holds a checkpoint of size %d", s.size, cp.Size)
		case cp.Size > n:
			foundBound(n, "the log is truncated: a checkpoint signed by the configured key has %d entries, the log %d", cp.Size, n)
		case root(cp.Size) != cp.Root:
			a := anchorBelow(cp.Size)
			foundRange(a, cp.Size, "entries %d to %d differ from the checkpoint of size %d signed by the configured key", a, cp.Size-1, cp.Size)
		default:
			anchors = append(anchors, cp.Size)
		}
		if latest {
			rep.Checkpoint = s.size
			if err == nil && cp.Size < n {
				found(cp.Size, "entries from index %d on are in no signed checkpoint", cp.Size)
			}
		}
	}
	if len(cps) == 0 && n > 0 {
		found(0, "the log has %d entries and no signed checkpoint", n)
	}

	// 4. The log extends every given checkpoint; checked from the
	// smallest, each one it extends anchors the next.
	type given struct {
		i  int
		cp Checkpoint
	}
	var gs []given
	for i, msg := range opts.Checkpoints {
		cp, err := OpenCheckpoint(msg, opts.Verifier)
		if err != nil {
			c, _ := parseUnverified(msg)
			found(anchorBelow(c.Size+1), "given checkpoint %d (size %d) is not signed by the configured key: %v", i+1, c.Size, err)
			continue
		}
		gs = append(gs, given{i, cp})
	}
	sort.SliceStable(gs, func(a, b int) bool { return gs[a].cp.Size < gs[b].cp.Size })
	for _, g := range gs {
		i, cp := g.i, g.cp
		if cp.Size > n {
			foundBound(n, "the log is truncated: given checkpoint %d has %d entries, the log %d", i+1, cp.Size, n)
			continue
		}
		if cp.Size == 0 {
			rep.Checked++
			continue
		}
		proof, err := tlog.ProveTree(n, cp.Size, mem)
		if err == nil {
			err = tlog.CheckTree(proof, n, root(n), cp.Size, cp.Root)
		}
		if err != nil {
			a := anchorBelow(cp.Size)
			foundRange(a, cp.Size, "the log does not extend given checkpoint %d (size %d): entries %d to %d were rewritten", i+1, cp.Size, a, cp.Size-1)
			continue
		}
		rep.Checked++
		if j := sort.Search(len(anchors), func(j int) bool { return anchors[j] >= cp.Size }); j == len(anchors) || anchors[j] != cp.Size {
			anchors = append(anchors[:j], append([]int64{cp.Size}, anchors[j:]...)...)
		}
	}

	if foreign >= 0 {
		a := anchorBelow(foreign + 1)
		foundRange(a, foreign+1, "the latest checkpoint (size %d) is not signed by the configured key %s (%v); the log matches what that key signed up to index %d, entries from there on were rewritten or added",
			foreign, opts.Verifier.Name(), foreignErr, a)
	}

	// 5. The old hash chain, for the prefix migrated from it.
	var chain int64
	if err := snap.QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_chain").Scan(&chain); err != nil {
		return nil, fmt.Errorf("audit: count chain: %w", err)
	}
	if chain > 0 {
		lr, err := l.VerifyLegacy(ctx, opts.LegacyTrusted...)
		if err != nil {
			return nil, err
		}
		rep.Legacy = lr
		if lr.Broken != nil {
			found(lr.Broken.Seq-1, "old hash chain: %s", lr.Broken.Reason)
		}
	}
	exact := rep.Divergence
	if bound != nil && (rep.Divergence == nil || bound.Index < rep.Divergence.Index) {
		rep.Divergence = bound
	}
	if ranged != nil && (rep.Divergence == nil ||
		(rep.Divergence != exact && ranged.Index < rep.Divergence.Index) ||
		(rep.Divergence == exact && rep.Divergence.Index >= rangedEnd)) {
		rep.Divergence = ranged
	}
	return rep, nil
}
