package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"kyso/api"
	"kyso/audit"
	"kyso/auth"
	"kyso/hsm"
	"kyso/hsm/hsmtest"
	"kyso/store"
	"kyso/store/storetest"
)

// outsideClient reads a Kyso log as a client that shares no code with the
// server would: golang.org/x/mod/sumdb/note for checkpoints, tlog for
// proofs and tile reading, its own parsing of C2SP paths and bodies.
type outsideClient struct {
	t    *testing.T
	base string
}

func (c *outsideClient) get(path string) (int, http.Header, []byte) {
	c.t.Helper()
	resp, err := http.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// checkpoint fetches and verifies the latest checkpoint (C2SP
// tlog-checkpoint: origin, size, base64 root).
func (c *outsideClient) checkpoint(v note.Verifier) tlog.Tree {
	c.t.Helper()
	code, h, body := c.get("/v1/audit/checkpoint")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		c.t.Fatalf("checkpoint: %d %s", code, h.Get("Content-Type"))
	}
	n, err := note.Open(body, note.VerifierList(v))
	if err != nil {
		c.t.Fatalf("checkpoint does not verify: %v\n%s", err, body)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != v.Name() {
		c.t.Fatalf("checkpoint body %q", n.Text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		c.t.Fatal(err)
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		c.t.Fatalf("root %q", lines[2])
	}
	var tree tlog.Tree
	tree.N = size
	copy(tree.Hash[:], root)
	return tree
}

// tileReader is tlog.TileReader over the C2SP tile paths.
type tileReader struct {
	c       *outsideClient
	fetched int
}

func (r *tileReader) Height() int { return 8 }

func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		// tlog writes tile/8/L/N[.p/W]; C2SP drops the height.
		p := "tile/" + strings.TrimPrefix(t.Path(), "tile/8/")
		code, h, body := r.c.get("/v1/audit/" + p)
		if code != 200 {
			return nil, fmt.Errorf("GET %s: %d %s", p, code, body)
		}
		if cc := h.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			return nil, fmt.Errorf("tile %s: Cache-Control %q", p, cc)
		}
		out[i] = body
		r.fetched++
	}
	return out, nil
}

func (r *tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

func proofOf(t *testing.T, body []byte) []tlog.Hash {
	t.Helper()
	var p struct {
		Proof []string `json:"proof"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	out := make([]tlog.Hash, len(p.Proof))
	for i, s := range p.Proof {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != tlog.HashSize {
			t.Fatalf("proof hash %q", s)
		}
		copy(out[i][:], b)
	}
	return out
}

// The log, signed by an Ed25519 key in the HSM and fed by concurrent
// writers while its sequencer runs, is verified over HTTP by an outside
// client: checkpoint signatures with note, inclusion and consistency
// proofs from the proof endpoints and from tiles read through tlog's
// TileReader.
func TestAuditLogOverHTTP(t *testing.T) {
	h := hsmtest.New(t)
	key, err := h.GenerateKey(context.Background(), hsm.KeySpec{Label: audit.LogKeyLabel, Type: hsm.Ed25519})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := audit.NoteSigner("kyso.test/audit", key)
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := audit.VerifierKey("kyso.test/audit", key.Public())
	if err != nil {
		t.Fatal(err)
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		l, err := audit.New(ctx, db, signer)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(api.New(api.Deps{}, api.NewAuditArea(l, vkey, nil)))
		defer srv.Close()
		c := &outsideClient{t: t, base: srv.URL}

		if code, _, _ := c.get("/v1/audit/checkpoint"); code != 404 {
			t.Fatalf("checkpoint of an empty log: %d", code)
		}
		seqDone := make(chan struct{})
		go func() {
			defer close(seqDone)
			_ = l.Run(ctx, audit.SequencerOptions{Interval: 20 * time.Millisecond})
		}()
		write := func(from, n int) []string {
			var mu sync.Mutex
			var ids []string
			var wg sync.WaitGroup
			for w := 0; w < 8; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := from + w; i < from+n; i += 8 {
						id := audit.NewID()
						if err := l.Append(ctx, audit.Event{ID: id, Actor: "officer-1", Role: "officer", Action: "certificate.revoke", Object: fmt.Sprintf("certificate:%d", i)}); err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						ids = append(ids, id)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			waitPending(t, l)
			return ids
		}
		write(0, 300)

		code, _, kb := c.get("/v1/audit/key")
		if code != 200 {
			t.Fatalf("key: %d", code)
		}
		v, err := note.NewVerifier(strings.TrimSpace(string(kb)))
		if err != nil {
			t.Fatal(err)
		}
		old := c.checkpoint(v)
		if old.N != 300 {
			t.Fatalf("checkpoint size %d", old.N)
		}
		ids := write(300, 333)
		tree := c.checkpoint(v)
		if tree.N != 633 {
			t.Fatalf("checkpoint size %d", tree.N)
		}

		// Consistency: the endpoint's proof, and one computed from tiles.
		_, _, body := c.get(fmt.Sprintf("/v1/audit/proof/consistency?old=%d&size=%d", old.N, tree.N))
		if err := tlog.CheckTree(proofOf(t, body), tree.N, tree.Hash, old.N, old.Hash); err != nil {
			t.Fatalf("consistency proof: %v", err)
		}
		tr := &tileReader{c: c}
		thr := tlog.TileHashReader(tree, tr)
		tp, err := tlog.ProveTree(tree.N, old.N, thr)
		if err != nil {
			t.Fatalf("consistency from tiles: %v", err)
		}
		if err := tlog.CheckTree(tp, tree.N, tree.Hash, old.N, old.Hash); err != nil {
			t.Fatalf("consistency from tiles: %v", err)
		}

		// Inclusion of one entry through its receipt, the endpoint and the tiles.
		code, _, body = c.get("/v1/audit/receipts/" + ids[17])
		if code != 200 {
			t.Fatalf("receipt: %d %s", code, body)
		}
		var rc struct {
			Index int64  `json:"index"`
			Entry []byte `json:"entry"`
		}
		if err := json.Unmarshal(body, &rc); err != nil || !bytes.Contains(rc.Entry, []byte(ids[17])) {
			t.Fatalf("receipt %s: %v", body, err)
		}
		leaf := tlog.RecordHash(rc.Entry)
		_, _, body = c.get(fmt.Sprintf("/v1/audit/proof/inclusion?index=%d&size=%d", rc.Index, tree.N))
		if err := tlog.CheckRecord(proofOf(t, body), tree.N, tree.Hash, rc.Index, leaf); err != nil {
			t.Fatalf("inclusion proof: %v", err)
		}
		rp, err := tlog.ProveRecord(tree.N, rc.Index, thr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckRecord(rp, tree.N, tree.Hash, rc.Index, leaf); err != nil || tr.fetched == 0 {
			t.Fatalf("inclusion from tiles: %v (%d tiles)", err, tr.fetched)
		}
		// The leaf hash read from a level-0 tile is the entry's.
		fromTile, err := thr.ReadHashes([]int64{tlog.StoredHashIndex(0, rc.Index)})
		if err != nil || fromTile[0] != leaf {
			t.Fatalf("leaf from tile: %v", err)
		}

		// Entry bundles name people: not public.
		if code, _, _ := c.get("/v1/audit/tile/entries/000"); code != 401 {
			t.Fatalf("anonymous entry bundle: %d", code)
		}
		for path, want := range map[string]int{
			"/v1/audit/proof/inclusion?index=x&size=5":           400,
			"/v1/audit/proof/inclusion?index=5&size=5":           400,
			"/v1/audit/proof/inclusion?index=1&size=634":         400,
			"/v1/audit/proof/consistency?old=0&size=5":           400,
			"/v1/audit/proof/consistency?old=9&size=5":           400,
			"/v1/audit/proof/consistency?old=1&size=99999999999": 400,
			"/v1/audit/tile/0/003":                               404,
			"/v1/audit/tile/0/002.p/200":                         404,
			"/v1/audit/tile/1/x001/000":                          404,
			"/v1/audit/tile/9/000":                               400,
			"/v1/audit/tile/zz/000":                              400,
			"/v1/audit/tile/0/000.p/0":                           400,
			"/v1/audit/receipts/nope":                            404,
		} {
			code, h, _ := c.get(path)
			if code != want || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
				t.Errorf("%s: %d %s, want %d problem", path, code, h.Get("Content-Type"), want)
			}
		}
		cancel()
		<-seqDone
		id := audit.NewID()
		if err := l.Append(context.Background(), audit.Event{ID: id, Action: "test.pending"}); err != nil {
			t.Fatal(err)
		}
		if code, h, _ := c.get("/v1/audit/receipts/" + id); code != 202 || h.Get("Retry-After") == "" {
			t.Fatalf("pending receipt: %d", code)
		}
	})
}

func waitPending(t *testing.T, l *audit.Log) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := l.Pending(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d entries still pending", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sharedCacheMayServe reports whether a shared cache (a CDN in front of
// the log) may store a response to a request that carried Authorization
// and serve it to other clients: RFC 9111, section 3.5, allows it when the
// response says public, s-maxage or must-revalidate, and section 5.2.2.7
// forbids it for private (and no-store).
func sharedCacheMayServe(cacheControl string) bool {
	may := false
	for _, d := range strings.Split(cacheControl, ",") {
		d = strings.ToLower(strings.TrimSpace(d))
		switch {
		case d == "private" || strings.HasPrefix(d, "private=") || d == "no-store":
			return false
		case d == "public" || d == "must-revalidate" || strings.HasPrefix(d, "s-maxage="):
			may = true
		}
	}
	return may
}

// Entry bundles name citizens and are served to officers only: a CDN that
// caches the public hash tiles must not keep an officer's entry bundle and
// hand it to anyone. Marked public (as the hash tiles are), a shared cache
// would serve it; marked private, it may not.
func TestEntryBundlesAreNotKeptBySharedCaches(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	skey, _, err := note.GenerateKey(nil, "kyso.test/audit")
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.New(ctx, db, s)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := l.Append(ctx, audit.Event{Actor: "officer-1", Role: "officer", Action: "ca.certificate.issue", Object: fmt.Sprint("certificate:", i),
			Details: map[string]any{"subject": "CN=NGUYỄN VĂN A,SERIALNUMBER=CCCD-001099000001"}}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := l.Sequence(ctx, audit.SequencerOptions{Holder: "test"}); err != nil || n != 3 {
		t.Fatalf("sequence: %d %v", n, err)
	}
	ps, err := auth.NewPrincipals(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	_, officer, err := ps.Add(ctx, auth.AddRequest{Role: auth.RoleOfficer, Name: "officer"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Deps{Principals: ps}, api.NewAuditArea(l, "", nil)))
	defer srv.Close()
	get := func(path, token string) (int, http.Header, []byte) {
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b
	}
	// The attack: what a CDN keeps from an officer's request it serves to
	// the next client, who sends no token.
	if code, _, _ := get("/v1/audit/tile/entries/000.p/3", ""); code != 401 {
		t.Fatalf("anonymous entry bundle: %d", code)
	}
	code, h, body := get("/v1/audit/tile/entries/000.p/3", officer)
	if code != 200 || !bytes.Contains(body, []byte("CCCD-001099000001")) {
		t.Fatalf("officer's entry bundle: %d %q", code, body)
	}
	if cc := h.Get("Cache-Control"); sharedCacheMayServe(cc) || !strings.Contains(cc, "immutable") {
		t.Fatalf("entry bundle Cache-Control %q: a shared cache may keep it and serve it to anyone", cc)
	}
	if !strings.Contains(h.Get("Vary"), "Authorization") {
		t.Errorf("entry bundle Vary %q", h.Get("Vary"))
	}
	// Hash tiles stay public and immutable, for a CDN to serve.
	code, h, _ = get("/v1/audit/tile/0/000.p/3", "")
	if cc := h.Get("Cache-Control"); code != 200 || !sharedCacheMayServe(cc) || !strings.Contains(cc, "immutable") {
		t.Fatalf("hash tile: %d Cache-Control %q", code, cc)
	}
	// The rule itself: the header entry bundles had before is servable.
	if !sharedCacheMayServe("public, max-age=31536000, immutable") {
		t.Fatal("sharedCacheMayServe does not recognise public")
	}
}
