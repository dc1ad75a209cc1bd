package audit

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// TileHeight is the height of C2SP tlog-tiles: 256 hashes per full tile.
const TileHeight = 8

// Errors callers branch on.
var (
	// ErrNotFound: no such entry, tile or checkpoint (yet).
	ErrNotFound = errors.New("audit: not found")
	// ErrPending: the entry is written but not sequenced yet.
	ErrPending = errors.New("audit: entry not sequenced yet")
	// ErrBadRequest: an index, size or tile path out of range or malformed.
	ErrBadRequest = errors.New("audit: bad request")
)

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// hashReader reads stored hashes from the database (and from an overlay
// of hashes computed in the current batch). Hashes read from the database
// are added to a non-nil overlay, so that a batch reads the tree's right
// edge once rather than for every entry.
func hashReader(ctx context.Context, q querier, overlay map[int64]tlog.Hash) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		var need []any
		pos := map[int64][]int{}
		for i, n := range indexes {
			if h, ok := overlay[n]; ok {
				out[i] = h
				continue
			}
			if _, ok := pos[n]; !ok {
				need = append(need, n)
			}
			pos[n] = append(pos[n], i)
		}
		for len(need) > 0 {
			chunk := need
			if len(chunk) > 512 {
				chunk = chunk[:512]
			}
			need = need[len(chunk):]
			ph := make([]string, len(chunk))
			for i := range chunk {
				ph[i] = "$" + strconv.Itoa(i+1)
			}
			rows, err := q.QueryContext(ctx, "SELECT n, hash FROM audit_hashes WHERE n IN ("+strings.Join(ph, ",")+")", chunk...)
			if err != nil {
				return nil, fmt.Errorf("audit: read hashes: %w", err)
			}
			found := 0
			for rows.Next() {
				var n int64
				var h []byte
				if err := rows.Scan(&n, &h); err != nil {
					rows.Close()
					return nil, fmt.Errorf("audit: read hashes: %w", err)
				}
				if len(h) != tlog.HashSize {
					rows.Close()
					return nil, fmt.Errorf("audit: stored hash %d has %d bytes", n, len(h))
				}
				for _, i := range pos[n] {
					copy(out[i][:], h)
				}
				if overlay != nil {
					var hh tlog.Hash
					copy(hh[:], h)
					overlay[n] = hh
				}
				found++
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, fmt.Errorf("audit: read hashes: %w", err)
			}
			if found != len(chunk) {
				return nil, fmt.Errorf("audit: %d stored hashes missing", len(chunk)-found)
			}
		}
		return out, nil
	})
}

// Head is the latest signed checkpoint.
type Head struct {
	Checkpoint
	Note []byte
}

// Latest returns the latest signed checkpoint, or ErrNotFound before the
// first one.
func (l *Log) Latest(ctx context.Context) (*Head, error) {
	return latest(ctx, l.db)
}

func latest(ctx context.Context, q querier) (*Head, error) {
	var size int64
	var root []byte
	var text string
	err := q.QueryRowContext(ctx, "SELECT size, root, note FROM audit_checkpoints ORDER BY size DESC LIMIT 1").Scan(&size, &root, &text)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: no checkpoint yet", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("audit: read checkpoint: %w", err)
	}
	h := &Head{Note: []byte(text)}
	h.Size = size
	copy(h.Root[:], root)
	return h, nil
}

// Proof is an inclusion or consistency proof.
type Proof struct {
	Index int64       `json:"index,omitempty"`
	Old   int64       `json:"old,omitempty"`
	Size  int64       `json:"size"`
	Proof []tlog.Hash `json:"proof"`
}

func (l *Log) checkSize(ctx context.Context, size int64) error {
	h, err := l.Latest(ctx)
	if err != nil {
		return err
	}
	if size > h.Size {
		return fmt.Errorf("%w: size %d is beyond the latest checkpoint (%d)", ErrBadRequest, size, h.Size)
	}
	return nil
}

// InclusionProof proves that leaf index is in the tree of the given size,
// which may not exceed the latest checkpoint.
func (l *Log) InclusionProof(ctx context.Context, index, size int64) (*Proof, error) {
	if index < 0 || size <= index {
		return nil, fmt.Errorf("%w: want 0 <= index < size", ErrBadRequest)
	}
	if err := l.checkSize(ctx, size); err != nil {
		return nil, err
	}
	p, err := tlog.ProveRecord(size, index, hashReader(ctx, l.db, nil))
	if err != nil {
		return nil, fmt.Errorf("audit: inclusion proof: %w", err)
	}
	return &Proof{Index: index, Size: size, Proof: p}, nil
}

// ConsistencyProof proves that the tree of the given size extends the tree
// of size old.
func (l *Log) ConsistencyProof(ctx context.Context, old, size int64) (*Proof, error) {
	if old < 1 || size < old {
		return nil, fmt.Errorf("%w: want 1 <= old <= size", ErrBadRequest)
	}
	if err := l.checkSize(ctx, size); err != nil {
		return nil, err
	}
	p, err := tlog.ProveTree(size, old, hashReader(ctx, l.db, nil))
	if err != nil {
		return nil, fmt.Errorf("audit: consistency proof: %w", err)
	}
	return &Proof{Old: old, Size: size, Proof: p}, nil
}

// ParseTilePath parses a C2SP tlog-tiles path below "tile/":
// "<L>/<N>[.p/<W>]" for hash tiles and "entries/<N>[.p/<W>]" for entry
// bundles (L = -1 in the result).
func ParseTilePath(p string) (tlog.Tile, error) {
	p = strings.TrimPrefix(p, "tile/")
	if rest, ok := strings.CutPrefix(p, "entries/"); ok {
		p = "data/" + rest
	}
	t, err := tlog.ParseTilePath("tile/" + strconv.Itoa(TileHeight) + "/" + p)
	if err != nil {
		return tlog.Tile{}, fmt.Errorf("%w: tile path %q", ErrBadRequest, p)
	}
	if t.L > 63/TileHeight {
		return tlog.Tile{}, fmt.Errorf("%w: tile level %d", ErrBadRequest, t.L)
	}
	return t, nil
}

// TilePath is the C2SP tlog-tiles path of t, below the log's prefix
// ("tile/0/x001/234", "tile/entries/005.p/17").
func TilePath(t tlog.Tile) string {
	p := strings.TrimPrefix(t.Path(), "tile/"+strconv.Itoa(t.H)+"/")
	if rest, ok := strings.CutPrefix(p, "data/"); ok {
		return "tile/entries/" + rest
	}
	return "tile/" + p
}

// Tile returns the content of a hash tile or an entry bundle. Only tiles
// within the latest checkpoint are served, so that every tile is immutable.
func (l *Log) Tile(ctx context.Context, t tlog.Tile) ([]byte, error) {
	h, err := l.Latest(ctx)
	if err != nil {
		return nil, err
	}
	level := t.L
	if level < 0 {
		level = 0
	}
	if t.N < 0 || level > 7 || t.N > h.Size>>(uint(level)*TileHeight+TileHeight) {
		return nil, fmt.Errorf("%w: tile beyond the tree", ErrNotFound)
	}
	// The tile covers leaves up to (N*256+W) << (L*8).
	end := (t.N*(1<<TileHeight) + int64(t.W)) << (uint(level) * TileHeight)
	if t.N < 0 || t.W < 1 || t.W > 1<<TileHeight || end > h.Size || end <= 0 {
		return nil, fmt.Errorf("%w: tile beyond the tree", ErrNotFound)
	}
	if t.L >= 0 {
		data, err := tlog.ReadTileData(t, hashReader(ctx, l.db, nil))
		if err != nil {
			return nil, fmt.Errorf("audit: read tile: %w", err)
		}
		return data, nil
	}
	first := t.N << TileHeight
	rows, err := l.db.QueryContext(ctx, "SELECT idx, data FROM audit_log WHERE idx >= $1 AND idx < $2 ORDER BY idx", first, first+int64(t.W))
	if err != nil {
		return nil, fmt.Errorf("audit: read entries: %w", err)
	}
	defer rows.Close()
	var out []byte
	want := first
	for rows.Next() {
		var idx int64
		var data []byte
		if err := rows.Scan(&idx, &data); err != nil {
			return nil, fmt.Errorf("audit: read entries: %w", err)
		}
		if idx != want || len(data) > MaxEntrySize {
			return nil, fmt.Errorf("audit: entry %d missing or oversized", want)
		}
		out = binary.BigEndian.AppendUint16(out, uint16(len(data)))
		out = append(out, data...)
		want++
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: read entries: %w", err)
	}
	if want != first+int64(t.W) {
		return nil, fmt.Errorf("audit: entry %d missing", want)
	}
	return out, nil
}

// SplitBundle splits a C2SP entry bundle into its entries.
func SplitBundle(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, errors.New("audit: truncated entry bundle")
		}
		n := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+n {
			return nil, errors.New("audit: truncated entry bundle")
		}
		out = append(out, b[2:2+n])
		b = b[2+n:]
	}
	return out, nil
}
