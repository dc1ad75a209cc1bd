package hsmtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"kyso/hsm"
)

// PIN and SOPIN are the user and security officer PINs of every test token.
const (
	PIN   = "1234-user"
	SOPIN = "5678-so"
)

const dirPrefix = "kyso-hsmtest-"

// ModulePath returns the path of SoftHSM2's PKCS#11 module, or "" when
// SoftHSM2 is not installed.
func ModulePath() string {
	p, err := hsm.DefaultModule()
	if err != nil {
		return ""
	}
	return p
}

// Require returns SoftHSM2's module path. When SoftHSM2 is missing it fails
// the test if the environment variable CI is set and skips it otherwise.
func Require(t testing.TB) string {
	t.Helper()
	p := ModulePath()
	if p == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("hsmtest: SoftHSM2 is not installed (apt-get install softhsm2)")
		}
		t.Skip("hsmtest: SoftHSM2 is not installed (apt-get install softhsm2); skipping")
	}
	return p
}

// ConfPath returns the softhsm2.conf of this test process, creating it and
// its token directory when needed, and points SOFTHSM2_CONF at it. Tools run
// by a test (softhsm2-util, pkcs11-tool) see the process's tokens when their
// environment has SOFTHSM2_CONF.
func ConfPath(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(os.TempDir(), dirPrefix+strconv.Itoa(os.Getpid()))
	conf := filepath.Join(dir, "softhsm2.conf")
	if os.Getenv("SOFTHSM2_CONF") == conf {
		if _, err := os.Stat(conf); err == nil {
			return conf
		}
	}
	removeStale()
	tokens := filepath.Join(dir, "tokens")
	if err := os.MkdirAll(tokens, 0o700); err != nil {
		t.Fatalf("hsmtest: %v", err)
	}
	body := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", tokens)
	tmp, err := os.CreateTemp(dir, "conf-*")
	if err != nil {
		t.Fatalf("hsmtest: %v", err)
	}
	if _, err := tmp.WriteString(body); err != nil {
		t.Fatalf("hsmtest: %v", err)
	}
	if err := tmp.Close(); err != nil {
		t.Fatalf("hsmtest: %v", err)
	}
	if err := os.Rename(tmp.Name(), conf); err != nil {
		t.Fatalf("hsmtest: %v", err)
	}
	if err := os.Setenv("SOFTHSM2_CONF", conf); err != nil {
		t.Fatalf("hsmtest: %v", err)
	}
	return conf
}

// removeStale removes the directories of test processes that have exited.
func removeStale() {
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, m := range matches {
		pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(m), dirPrefix))
		if err != nil || pid == os.Getpid() || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
			_ = os.RemoveAll(m)
		}
	}
}

// NewToken initialises a fresh token with a random label and returns the
// configuration to open it (PIN, pool size hsm.DefaultPoolSize).
func NewToken(t testing.TB) hsm.Config {
	t.Helper()
	module := Require(t)
	conf := ConfPath(t)
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatalf("hsmtest: %v", err)
	}
	label := "kyso-test-" + hex.EncodeToString(rnd[:])
	if err := initToken(filepath.Dir(conf), module, label); err != nil {
		t.Fatalf("hsmtest: creating token %s: %v", label, err)
	}
	return hsm.Config{Module: module, TokenLabel: label, PIN: PIN, PoolSize: hsm.DefaultPoolSize}
}

// initToken initialises the first free slot as token label with the test
// PINs. A lock file serialises token creation among the process's tests.
func initToken(dir, module, label string) error {
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("locking: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck

	return hsm.InitToken(module, label, SOPIN, PIN)
}

// New returns an HSM open on a fresh token, closed when the test ends. Its
// metrics are registered on a registry of its own.
func New(t testing.TB) *hsm.HSM {
	t.Helper()
	return Open(t, NewToken(t), prometheus.NewRegistry())
}

// Open opens cfg with a logger writing to the test's output and closes the
// HSM when the test ends.
func Open(t testing.TB, cfg hsm.Config, reg prometheus.Registerer) *hsm.HSM {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	h, err := hsm.Open(context.Background(), cfg, log, reg)
	if err != nil {
		t.Fatalf("hsmtest: opening token %s: %v", cfg.TokenLabel, err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}
