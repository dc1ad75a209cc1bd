package main

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"kyso/audit"
	"kyso/certfile"
	"kyso/cli/cliflag"
	"kyso/cmd/internal/appenv"
)

func runAudit(ctx context.Context, io stdio, args []string) int {
	return subcommand(ctx, io, "audit", args, map[string]command{
		"verify":         {Summary: "check the stored log against the configured key and published checkpoints", Run: auditVerify},
		"list":           {Summary: "print audit entries as JSON lines", Run: auditList},
		"key":            {Summary: "print the log's note verifier key", Run: auditKey},
		"verify-receipt": {Summary: "check an entry receipt offline: verify-receipt RECEIPT --key VKEY", Run: auditVerifyReceipt},
		"witness":        {Summary: "watch a Kyso log: check each new checkpoint extends the last one seen", Run: auditWitness},
	})
}

// readVerifierKey reads a note verifier key given as text or as a file
// holding it.
func readVerifierKey(v string) (note.Verifier, error) {
	text := strings.TrimSpace(v)
	if vr, err := note.NewVerifier(text); err == nil {
		return vr, nil
	}
	b, err := os.ReadFile(v)
	if err != nil {
		return nil, fmt.Errorf("verifier key %q is neither a key nor a readable file: %w", v, err)
	}
	vr, err := note.NewVerifier(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("verifier key in %s: %w", v, err)
	}
	return vr, nil
}

// configuredVerifier is the log key the configuration names: --key, else
// audit.verifier_key, else the log key in the HSM. Never a key read from
// the log's own tables.
func configuredVerifier(ctx context.Context, io stdio, e *env, flagKey string) (note.Verifier, error) {
	switch {
	case flagKey != "":
		return readVerifierKey(flagKey)
	case e.cfg.Audit.VerifierKey != "":
		return readVerifierKey(e.cfg.Audit.VerifierKey)
	}
	if e.hsm == nil && !appenv.SeparateAuditModule(e.cfg) {
		a := &appenv.Env{Config: e.cfg, Log: e.log, DB: e.db, Registry: e.registry}
		if err := a.OpenHSM(ctx); err != nil {
			return nil, fmt.Errorf("no --key or audit.verifier_key, and the HSM holding the log key: %w", err)
		}
		e.hsm = a.HSM
	}
	_, vkey, err := logNoteSigner(ctx, e)
	if err != nil {
		return nil, err
	}
	return note.NewVerifier(vkey)
}

func auditVerify(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("audit verify", io.Err)
	configPath := fs.String("config", "", "configuration file")
	keyFlag := fs.String("key", "", "the log's note verifier key, or a file holding it (default: audit.verifier_key, else the log key in the HSM)")
	var checkpoints multiFlag
	fs.Var(&checkpoints, "checkpoint", "a signed checkpoint published earlier that the log must extend (repeatable)")
	keyFile := fs.String("trust-cert", "", "PEM certificate whose key must have signed the old hash chain's checkpoints")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	var trusted []crypto.PublicKey
	if *keyFile != "" {
		certs, err := certfile.Read(*keyFile)
		if err != nil {
			return fail(io.Err, "audit verify", fmt.Errorf("--trust-cert: %w", err))
		}
		for _, c := range certs {
			trusted = append(trusted, c.PublicKey)
		}
	}
	var cps [][]byte
	for _, f := range checkpoints {
		b, err := os.ReadFile(f)
		if err != nil {
			return fail(io.Err, "audit verify", fmt.Errorf("--checkpoint: %w", err))
		}
		cps = append(cps, b)
	}
	e, err := openEnv(ctx, io, *configPath, false)
	if err != nil {
		return fail(io.Err, "audit verify", err)
	}
	defer e.close()
	v, err := configuredVerifier(ctx, io, e, *keyFlag)
	if err != nil {
		return fail(io.Err, "audit verify", err)
	}
	l, err := audit.New(ctx, e.db, nil)
	if err != nil {
		return fail(io.Err, "audit verify", err)
	}
	rep, err := l.Verify(ctx, audit.VerifyOptions{Verifier: v, Checkpoints: cps, LegacyTrusted: trusted})
	if err != nil {
		return fail(io.Err, "audit verify", err)
	}
	if d := rep.Divergence; d != nil {
		fmt.Fprintf(io.Out, "audit log DIVERGES at index %d: %s\n", d.Index, d.Reason)
		return exitFail
	}
	fmt.Fprintf(io.Out, "audit log OK: %d entries, latest checkpoint signed by %s at size %d, extends %d given checkpoints\n",
		rep.Entries, v.Name(), rep.Checkpoint, rep.Checked)
	if rep.Legacy != nil {
		fmt.Fprintf(io.Out, "old hash chain OK: %d entries (the first leaves), %d signed checkpoints\n", rep.Legacy.Entries, rep.Legacy.Checkpoints)
	}
	return exitOK
}

func auditList(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("audit list", io.Err)
	configPath := fs.String("config", "", "configuration file")
	object := fs.String("object", "", "only entries about this object")
	actor := fs.String("actor", "", "only entries by this actor")
	from := fs.Int64("from", 0, "only entries from this index on (pending entries are listed last, with index -1)")
	limit := fs.Int("limit", 100, "at most this many entries (1-1000)")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	e, err := openEnv(ctx, io, *configPath, false)
	if err != nil {
		return fail(io.Err, "audit list", err)
	}
	defer e.close()
	l, err := audit.New(ctx, e.db, nil)
	if err != nil {
		return fail(io.Err, "audit list", err)
	}
	entries, err := l.List(ctx, audit.Filter{Object: *object, Actor: *actor, From: *from, Limit: *limit})
	if err != nil {
		return fail(io.Err, "audit list", err)
	}
	enc := json.NewEncoder(io.Out)
	for _, en := range entries {
		_ = enc.Encode(en)
	}
	return exitOK
}

func auditKey(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("audit key", io.Err)
	configPath := fs.String("config", "", "configuration file")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	cfg, err := loadConfig(*configPath, io)
	if err != nil {
		return fail(io.Err, "audit key", err)
	}
	// The service token itself is needed only when the log key is used
	// through it (no hsm.audit_module of its own).
	e, err := openEnv(ctx, io, *configPath, !appenv.SeparateAuditModule(cfg))
	if err != nil {
		return fail(io.Err, "audit key", err)
	}
	defer e.close()
	_, vkey, err := logNoteSigner(ctx, e)
	if err != nil {
		return fail(io.Err, "audit key", err)
	}
	fmt.Fprintln(io.Out, vkey)
	return exitOK
}

const maxReceiptSize = 1 << 20

func auditVerifyReceipt(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("audit verify-receipt", io.Err)
	keyFlag := fs.String("key", "", "the log's note verifier key, or a file holding it (required)")
	pos, err := cliflag.Parse(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if len(pos) != 1 || *keyFlag == "" {
		fmt.Fprintln(io.Err, "usage: kyso audit verify-receipt RECEIPT --key VKEY")
		return exitUsage
	}
	v, err := readVerifierKey(*keyFlag)
	if err != nil {
		return fail(io.Err, "audit verify-receipt", err)
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return fail(io.Err, "audit verify-receipt", err)
	}
	defer f.Close()
	b, err := readAllLimit(f, maxReceiptSize)
	if err != nil {
		return fail(io.Err, "audit verify-receipt", err)
	}
	var r audit.Receipt
	if err := json.Unmarshal(b, &r); err != nil {
		return fail(io.Err, "audit verify-receipt", fmt.Errorf("%s: not a receipt: %w", pos[0], err))
	}
	e, err := audit.VerifyReceipt(&r, v)
	if err != nil {
		fmt.Fprintf(io.Out, "receipt INVALID: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(io.Out, "receipt OK: entry %s (%s on %s by %s at %s) is leaf %d of the log %s\n",
		e.ID, e.Action, e.Object, e.Actor, e.At.Format(time.RFC3339), e.Index, v.Name())
	return exitOK
}

// readAllLimit reads at most limit bytes and fails beyond.
func readAllLimit(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("more than %d bytes", limit)
	}
	return b, nil
}

// witnessState is what a witness keeps between runs.
type witnessState struct {
	Key        string `json:"key"`
	Checkpoint string `json:"checkpoint,omitempty"`
}

func auditWitness(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("audit witness", io.Err)
	base := fs.String("url", "", "the Kyso server's base URL (required)")
	statePath := fs.String("state", "", "file keeping the verifier key and the last checkpoint seen (required)")
	keyFlag := fs.String("key", "", "the log's note verifier key, or a file holding it (default: the one in --state; on first use, the one the log serves)")
	once := fs.Bool("once", false, "check once and exit")
	every := fs.Duration("interval", 30*time.Second, "time between checks")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	if *base == "" || *statePath == "" {
		fmt.Fprintln(io.Err, "usage: kyso audit witness --url URL --state FILE [--key VKEY] [--once]")
		return exitUsage
	}
	if u, err := url.Parse(*base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fail(io.Err, "audit witness", fmt.Errorf("--url: want an absolute http(s) URL, got %q", *base))
	}
	w := &witness{base: strings.TrimRight(*base, "/"), state: *statePath, client: &http.Client{Timeout: 30 * time.Second}, out: io.Out}
	if err := w.load(*keyFlag); err != nil {
		return fail(io.Err, "audit witness", err)
	}
	for {
		if err := w.check(ctx); err != nil {
			var bad *witnessAlarm
			if errors.As(err, &bad) {
				fmt.Fprintf(io.Out, "ALARM: %v\n", err)
				return exitFail
			}
			fmt.Fprintf(io.Err, "kyso audit witness: %v\n", err)
			if *once {
				return exitFail
			}
		}
		if *once {
			return exitOK
		}
		select {
		case <-ctx.Done():
			return exitOK
		case <-time.After(*every):
		}
	}
}

// witnessAlarm is a log that does not extend what it showed before.
type witnessAlarm struct{ msg string }

func (a *witnessAlarm) Error() string { return a.msg }

type witness struct {
	base, state string
	client      *http.Client
	out         io.Writer
	st          witnessState
	v           note.Verifier
	last        *audit.Checkpoint
}

func (w *witness) load(keyFlag string) error {
	b, err := os.ReadFile(w.state)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	default:
		if err := json.Unmarshal(b, &w.st); err != nil {
			return fmt.Errorf("%s: %w", w.state, err)
		}
	}
	if keyFlag != "" {
		v, err := readVerifierKey(keyFlag)
		if err != nil {
			return err
		}
		if w.st.Key != "" {
			if old, err := note.NewVerifier(w.st.Key); err != nil || old.Name() != v.Name() || old.KeyHash() != v.KeyHash() {
				return fmt.Errorf("--key is not the key recorded in %s", w.state)
			}
		}
		kt := strings.TrimSpace(keyFlag)
		if _, err := note.NewVerifier(kt); err != nil {
			kb, _ := os.ReadFile(keyFlag)
			kt = strings.TrimSpace(string(kb))
		}
		w.st.Key = kt
	}
	if w.st.Key == "" {
		key, err := w.get(context.Background(), "/v1/audit/key", 4096)
		if err != nil {
			return fmt.Errorf("fetch the log's key: %w", err)
		}
		w.st.Key = strings.TrimSpace(string(key))
		fmt.Fprintf(w.out, "trusting the key the log serves on first use: %s\n", w.st.Key)
	}
	if w.v, err = note.NewVerifier(w.st.Key); err != nil {
		return fmt.Errorf("verifier key: %w", err)
	}
	if w.st.Checkpoint != "" {
		cp, err := audit.OpenCheckpoint([]byte(w.st.Checkpoint), w.v)
		if err != nil {
			return fmt.Errorf("%s: %w", w.state, err)
		}
		w.last = &cp
	}
	return nil
}

func (w *witness) get(ctx context.Context, path string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.base+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := readAllLimit(resp.Body, limit)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return b, nil
}

func (w *witness) check(ctx context.Context) error {
	msg, err := w.get(ctx, "/v1/audit/checkpoint", 64<<10)
	if err != nil {
		return err
	}
	cp, err := audit.OpenCheckpoint(msg, w.v)
	if err != nil {
		return &witnessAlarm{fmt.Sprintf("the log's checkpoint does not verify with %s: %v", w.v.Name(), err)}
	}
	if w.last != nil {
		switch {
		case cp.Size < w.last.Size:
			return &witnessAlarm{fmt.Sprintf("the log shrank from %d to %d entries (first missing index %d)", w.last.Size, cp.Size, cp.Size)}
		case cp.Size == w.last.Size && cp.Root != w.last.Root:
			return &witnessAlarm{fmt.Sprintf("two checkpoints of size %d with different roots: the log forked", cp.Size)}
		case cp.Size > w.last.Size && w.last.Size > 0:
			body, err := w.get(ctx, "/v1/audit/proof/consistency?old="+strconv.FormatInt(w.last.Size, 10)+"&size="+strconv.FormatInt(cp.Size, 10), 64<<10)
			if err != nil {
				return err
			}
			var p struct {
				Proof []tlog.Hash `json:"proof"`
			}
			if err := json.Unmarshal(body, &p); err != nil {
				return fmt.Errorf("consistency proof: %w", err)
			}
			if err := tlog.CheckTree(p.Proof, cp.Size, cp.Root, w.last.Size, w.last.Root); err != nil {
				return &witnessAlarm{fmt.Sprintf("checkpoint of size %d does not extend the one of size %d seen before: %v", cp.Size, w.last.Size, err)}
			}
		}
	}
	w.st.Checkpoint = string(msg)
	w.last = &cp
	if err := w.save(); err != nil {
		return err
	}
	fmt.Fprintf(w.out, "%s: %s at size %d is consistent\n", time.Now().UTC().Format(time.RFC3339), cp.Origin, cp.Size)
	return nil
}

func (w *witness) save() error {
	b, err := json.MarshalIndent(w.st, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(w.state), ".witness-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), w.state)
}
