package hsm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/miekg/pkcs11"
	"github.com/prometheus/client_golang/prometheus"
)

const (
	// maxAttempts bounds how often one operation is tried, recoveries
	// included.
	maxAttempts = 4
	// firstBackoff is the wait after a failed recovery; it doubles up to
	// maxBackoff, and every wait ends early when the context is done.
	firstBackoff = 100 * time.Millisecond
	maxBackoff   = 2 * time.Second
)

// HSM is an open PKCS#11 token: a pool of sessions logged in as the user,
// safe for concurrent use. It sets the sessions, the login and if need be
// the library up again when the token reports that they were lost.
type HSM struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	p       *pkcs11.Ctx

	// keyMu serialises key generation and destruction so that the
	// duplicate-label check and the generation are one step within this
	// process.
	keyMu sync.Mutex

	// mu is held for reading by every operation that calls into the
	// library and for writing by recovery and Close, so that the library
	// is never finalised under a running call. The fields below it are
	// written only with mu held for writing.
	mu     sync.RWMutex
	closed bool
	slot   uint
	anchor pkcs11.SessionHandle // holds the login; never used for operations
	gen    uint64               // increases with every recovery

	sem    chan struct{} // one token per pooled session in use
	idleMu sync.Mutex
	idle   []pkcs11.SessionHandle
}

// Open loads the PKCS#11 module, finds the token by its label, logs in and
// returns the HSM. Metrics are registered on reg (nil: not registered).
func Open(ctx context.Context, cfg Config, log *slog.Logger, reg prometheus.Registerer) (*HSM, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(reg, cfg.KeyMetricLabel)
	if err != nil {
		return nil, fmt.Errorf("hsm: registering metrics: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := pkcs11.New(cfg.Module)
	if p == nil {
		return nil, fmt.Errorf("hsm: cannot load PKCS#11 module %s", cfg.Module)
	}
	h := &HSM{
		cfg:     cfg,
		log:     log.With("component", "hsm", "token", cfg.TokenLabel),
		metrics: m,
		p:       p,
		sem:     make(chan struct{}, cfg.PoolSize),
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.connectLocked(false); err != nil {
		return nil, err
	}
	h.log.Info("hsm opened", "config", cfg, "slot", h.slot)
	return h, nil
}

// Close closes the sessions; operations after it return ErrClosed. The
// library stays initialised for the life of the process: PKCS#11
// initialisation is per process, and other HSM values may share it.
func (h *HSM) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	h.dropSessionsLocked()
	h.log.Info("hsm closed")
	return nil
}

// Ping checks that a session can be had and is logged in, recovering if
// needed. It is meant for readiness probes.
func (h *HSM) Ping(ctx context.Context) error {
	return h.do(ctx, func(o *op) error { return h.requireLogin(o.s) })
}

// op is what an operation gets: a session of the pool, and the generation
// that its cached object handles must match.
type op struct {
	s   pkcs11.SessionHandle
	gen uint64
}

// do runs fn with a pooled session. When fn fails with an error that
// needsRecovery, do sets the token up again and tries fn again, up to
// maxAttempts in all, waiting with backoff bounded by ctx when a recovery
// itself fails.
func (h *HSM) do(ctx context.Context, fn func(*op) error) error {
	backoff := firstBackoff
	var last error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if err := ctx.Err(); err != nil {
			if last != nil {
				return fmt.Errorf("%w (after: %w)", err, last)
			}
			return err
		}
		gen, err := h.withSession(ctx, fn)
		if IsPKCS11Error(err, pkcs11.CKR_OPERATION_ACTIVE) {
			// withSession closed that session; try another.
			last = err
			continue
		}
		if err == nil || !needsRecovery(err) {
			return err
		}
		last = err
		// A second failure after a recovery that looked fine means the
		// light recovery was not enough: go through C_Finalize.
		rerr := h.recover(gen, err, attempt > 0)
		if rerr == nil {
			continue
		}
		if isPINError(rerr) || errors.Is(rerr, ErrClosed) {
			return fmt.Errorf("%w (recovery failed: %w)", err, rerr)
		}
		last = fmt.Errorf("%w (recovery failed: %w)", err, rerr)
		if attempt == maxAttempts-1 {
			break
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (after: %w)", ctx.Err(), last)
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
	return fmt.Errorf("hsm: giving up after %d attempts: %w", maxAttempts, last)
}

// withSession runs fn with a session from the pool and returns the
// generation it ran in.
func (h *HSM) withSession(ctx context.Context, fn func(*op) error) (uint64, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.closed {
		return 0, ErrClosed
	}
	gen := h.gen
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return gen, ctx.Err()
	}
	defer func() { <-h.sem }()
	s, err := h.takeSession()
	if err != nil {
		return gen, err
	}
	err = fn(&op{s: s, gen: gen})
	if IsPKCS11Error(err, pkcs11.CKR_OPERATION_ACTIVE) {
		// Something left an operation open in this session; do not hand
		// it out again.
		_ = h.p.CloseSession(s)
		return gen, err
	}
	// Sessions go back to the pool even when broken: recovery closes
	// every pooled session, so none is left open on the token.
	h.idleMu.Lock()
	h.idle = append(h.idle, s)
	h.idleMu.Unlock()
	return gen, err
}

// takeSession returns an idle session or opens a new one. Called with mu
// held for reading and a pool token taken.
func (h *HSM) takeSession() (pkcs11.SessionHandle, error) {
	h.idleMu.Lock()
	if n := len(h.idle); n > 0 {
		s := h.idle[n-1]
		h.idle = h.idle[:n-1]
		h.idleMu.Unlock()
		return s, nil
	}
	h.idleMu.Unlock()
	s, err := h.p.OpenSession(h.slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		return 0, fmt.Errorf("hsm: opening session: %w", err)
	}
	return s, nil
}

// recover sets the token up again after cause, unless another goroutine
// already did since generation gen. It first reopens the sessions and logs
// in again; when that fails, or when heavy is set, it finalises and
// initialises the library first.
func (h *HSM) recover(gen uint64, cause error, heavy bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	if h.gen != gen {
		return nil
	}
	h.log.Warn("hsm: recovering", "cause", cause.Error(), "reinitialize", heavy)
	h.dropSessionsLocked()
	var err error
	if !heavy {
		err = h.connectLocked(false)
	}
	if heavy || (err != nil && !isPINError(err)) {
		if err != nil {
			h.log.Warn("hsm: reopening sessions failed, reinitializing the library", "err", err.Error())
		}
		h.dropSessionsLocked()
		err = h.connectLocked(true)
	}
	if err != nil {
		h.log.Error("hsm: recovery failed", "err", err.Error())
		return err
	}
	h.gen++
	h.metrics.recoveries.Inc()
	h.log.Info("hsm: recovered", "slot", h.slot, "generation", h.gen)
	return nil
}

// dropSessionsLocked closes the pooled sessions and the login session,
// ignoring errors: they may be gone already.
func (h *HSM) dropSessionsLocked() {
	h.idleMu.Lock()
	idle := h.idle
	h.idle = nil
	h.idleMu.Unlock()
	for _, s := range idle {
		_ = h.p.CloseSession(s)
	}
	if h.anchor != 0 {
		_ = h.p.CloseSession(h.anchor)
		h.anchor = 0
	}
}

// connectLocked initialises the library (after finalising it if reinit),
// finds the token, opens the login session and logs in.
func (h *HSM) connectLocked(reinit bool) error {
	if reinit {
		_ = h.p.Finalize()
	}
	if err := h.p.Initialize(); err != nil && !IsPKCS11Error(err, pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		return fmt.Errorf("hsm: initializing %s: %w", h.cfg.Module, err)
	}
	slot, err := h.findSlot()
	if err != nil {
		return err
	}
	s, err := h.p.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		return fmt.Errorf("hsm: opening session: %w", err)
	}
	if err := h.p.Login(s, pkcs11.CKU_USER, h.cfg.PIN); err != nil &&
		!IsPKCS11Error(err, pkcs11.CKR_USER_ALREADY_LOGGED_IN) {
		_ = h.p.CloseSession(s)
		return fmt.Errorf("hsm: logging in to token %q: %w", h.cfg.TokenLabel, err)
	}
	h.slot = slot
	h.anchor = s
	return nil
}

// findSlot returns the slot whose token has the configured label.
func (h *HSM) findSlot() (uint, error) {
	slots, err := h.p.GetSlotList(true)
	if err != nil {
		return 0, fmt.Errorf("hsm: listing slots: %w", err)
	}
	var found []uint
	for _, s := range slots {
		ti, err := h.p.GetTokenInfo(s)
		if err != nil {
			continue
		}
		if strings.TrimRight(ti.Label, " \x00") == h.cfg.TokenLabel {
			found = append(found, s)
		}
	}
	switch len(found) {
	case 0:
		return 0, fmt.Errorf("%w: %q", ErrTokenNotFound, h.cfg.TokenLabel)
	case 1:
		return found[0], nil
	default:
		return 0, fmt.Errorf("hsm: %d tokens are labelled %q", len(found), h.cfg.TokenLabel)
	}
}
