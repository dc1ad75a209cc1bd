package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Receipt proves that an entry is in the log: the entry's exact leaf
// bytes, its index, a signed checkpoint and the inclusion proof of the
// entry in the checkpoint's tree. It verifies offline with the log's
// verifier key (VerifyReceipt).
type Receipt struct {
	ID         string      `json:"id"`
	Index      int64       `json:"index"`
	Entry      []byte      `json:"entry"`
	Checkpoint string      `json:"checkpoint"`
	Proof      []tlog.Hash `json:"inclusion_proof"`
}

// Receipt returns the receipt of entry id against the latest checkpoint.
// It fails with ErrPending while the entry waits for the sequencer and
// ErrNotFound for an unknown id.
func (l *Log) Receipt(ctx context.Context, id string) (*Receipt, error) {
	var idx int64
	var data []byte
	err := l.db.QueryRowContext(ctx, "SELECT idx, data FROM audit_log WHERE id = $1", id).Scan(&idx, &data)
	if errors.Is(err, sql.ErrNoRows) {
		var n int
		if err := l.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_pending WHERE id = $1", id).Scan(&n); err != nil {
			return nil, fmt.Errorf("audit: read pending: %w", err)
		}
		if n > 0 {
			return nil, ErrPending
		}
		return nil, fmt.Errorf("%w: entry %q", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("audit: read entry: %w", err)
	}
	h, err := l.Latest(ctx)
	if err != nil {
		return nil, err
	}
	if idx >= h.Size {
		return nil, ErrPending
	}
	p, err := tlog.ProveRecord(h.Size, idx, hashReader(ctx, l.db, nil))
	if err != nil {
		return nil, fmt.Errorf("audit: inclusion proof: %w", err)
	}
	return &Receipt{ID: id, Index: idx, Entry: data, Checkpoint: string(h.Note), Proof: p}, nil
}

// VerifyReceipt checks a receipt offline: the checkpoint is signed by v,
// the entry is the one the receipt names and the proof places its leaf
// hash at the index in the checkpoint's tree. It returns the entry.
func VerifyReceipt(r *Receipt, v note.Verifier) (*Entry, error) {
	cp, err := OpenCheckpoint([]byte(r.Checkpoint), v)
	if err != nil {
		return nil, err
	}
	if r.Index < 0 || r.Index >= cp.Size {
		return nil, fmt.Errorf("audit: receipt index %d is outside the checkpoint's tree of %d entries", r.Index, cp.Size)
	}
	e, err := ParseEntry(r.Entry)
	if err != nil {
		return nil, err
	}
	if e.ID != r.ID {
		return nil, fmt.Errorf("audit: receipt is for entry %q but carries entry %q", r.ID, e.ID)
	}
	if err := tlog.CheckRecord(r.Proof, cp.Size, cp.Root, r.Index, tlog.RecordHash(r.Entry)); err != nil {
		return nil, fmt.Errorf("audit: receipt's inclusion proof: %w", err)
	}
	e.Index = r.Index
	return e, nil
}
