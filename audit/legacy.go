package audit

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// chainRow is a row of the hash chain of the log's first version.
type chainRow struct {
	Seq                                  int64
	At                                   time.Time
	Actor, Role, Action, Object, details string
	PrevHash, Hash                       []byte
}

// computeHash is SHA-256 over the previous hash and the length-prefixed
// fields of the row, as the first version computed it.
func (e *chainRow) computeHash() []byte {
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

func legacyCheckpointDigest(seq int64, hash []byte) []byte {
	h := sha256.New()
	h.Write([]byte("kyso-audit-checkpoint-v1\x00"))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(seq))
	h.Write(n[:])
	h.Write(hash)
	return h.Sum(nil)
}

// Break is the first place where the old hash chain does not hold.
type Break struct {
	Seq    int64  `json:"seq"`
	Reason string `json:"reason"`
}

func (b *Break) Error() string { return fmt.Sprintf("audit chain row %d: %s", b.Seq, b.Reason) }

// LegacyReport is the outcome of VerifyLegacy.
type LegacyReport struct {
	Entries     int64  `json:"entries"`
	Checkpoints int    `json:"checkpoints"`
	HeadSeq     int64  `json:"head_seq"`
	Broken      *Break `json:"broken,omitempty"`
}

// VerifyLegacy checks the hash chain of the log's first version, which the
// migration froze and made the first leaves of the Merkle log: the rows'
// links and hashes, the head, the chain's signed checkpoints (with one of
// trusted when given) and that each row is the leaf at index seq-1.
func (l *Log) VerifyLegacy(ctx context.Context, trusted ...crypto.PublicKey) (*LegacyReport, error) {
	rep := &LegacyReport{}
	cps, err := l.legacyCheckpoints(ctx)
	if err != nil {
		return nil, err
	}
	rep.Checkpoints = len(cps)
	leaves, err := l.legacyLeaves(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := l.db.QueryContext(ctx, "SELECT seq, at, actor, role, action, object, details, prev_hash, hash FROM audit_chain ORDER BY seq")
	if err != nil {
		return nil, fmt.Errorf("audit: read chain: %w", err)
	}
	defer rows.Close()
	prev := make([]byte, sha256.Size)
	var last int64
	for rows.Next() {
		var e chainRow
		var at int64
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Role, &e.Action, &e.Object, &e.details, &e.PrevHash, &e.Hash); err != nil {
			return nil, fmt.Errorf("audit: read chain row: %w", err)
		}
		e.At = time.UnixMilli(at).UTC()
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
		if lh, ok := leaves[e.Seq]; ok && rep.Broken == nil && lh != hex.EncodeToString(e.Hash) {
			rep.Broken = &Break{Seq: e.Seq, Reason: fmt.Sprintf("row differs from its leaf %d in the Merkle log", e.Seq-1)}
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
	err = l.db.QueryRowContext(ctx, "SELECT seq, hash FROM audit_chain_head WHERE id = 1").Scan(&headSeq, &headHash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if last != 0 {
			rep.Broken = &Break{Seq: last, Reason: "chain head record is missing"}
		}
	case err != nil:
		return nil, fmt.Errorf("audit: read chain head: %w", err)
	case headSeq != last || (last > 0 && !bytes.Equal(headHash, prev)):
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

// legacyLeaves maps chain sequence numbers to the chain hash their leaf in
// the Merkle log carries.
func (l *Log) legacyLeaves(ctx context.Context) (map[int64]string, error) {
	rows, err := l.db.QueryContext(ctx, "SELECT data FROM audit_log WHERE id LIKE 'chain-%' ORDER BY idx")
	if err != nil {
		return nil, fmt.Errorf("audit: read migrated leaves: %w", err)
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		var lf leaf
		if err := jsonUnmarshal(data, &lf); err != nil || lf.Legacy == nil {
			continue
		}
		out[lf.Legacy.Seq] = lf.Legacy.Hash
	}
	return out, rows.Err()
}

type legacyCheckpoint struct {
	hash, pub, sig []byte
}

func (cp legacyCheckpoint) verify(seq int64, trusted []crypto.PublicKey) string {
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
	if err := verifySignature(pub, legacyCheckpointDigest(seq, cp.hash), cp.sig); err != nil {
		return "checkpoint signature invalid"
	}
	return ""
}

func (l *Log) legacyCheckpoints(ctx context.Context) (map[int64]legacyCheckpoint, error) {
	rows, err := l.db.QueryContext(ctx, "SELECT seq, hash, public_key, signature FROM audit_chain_checkpoints")
	if err != nil {
		return nil, fmt.Errorf("audit: read chain checkpoints: %w", err)
	}
	defer rows.Close()
	out := map[int64]legacyCheckpoint{}
	for rows.Next() {
		var seq int64
		var cp legacyCheckpoint
		if err := rows.Scan(&seq, &cp.hash, &cp.pub, &cp.sig); err != nil {
			return nil, err
		}
		out[seq] = cp
	}
	return out, rows.Err()
}
