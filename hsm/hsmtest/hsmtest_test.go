package hsmtest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"kyso/hsm"
	"kyso/hsm/hsmtest"
)

func TestTokensAreSeparate(t *testing.T) {
	a, b := hsmtest.New(t), hsmtest.New(t)
	ctx := context.Background()
	if _, err := a.GenerateKey(ctx, hsm.KeySpec{Label: "only-in-a", Type: hsm.ECP256}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.FindKey(ctx, "only-in-a"); !errors.Is(err, hsm.ErrKeyNotFound) {
		t.Fatalf("key of one test token found in another: %v", err)
	}
	if err := b.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestConfPathIsPerProcess(t *testing.T) {
	hsmtest.Require(t)
	conf := hsmtest.ConfPath(t)
	if got := os.Getenv("SOFTHSM2_CONF"); got != conf {
		t.Fatalf("SOFTHSM2_CONF = %q, want %q", got, conf)
	}
	if !strings.HasSuffix(filepath.Dir(conf), "-"+strconv.Itoa(os.Getpid())) {
		t.Fatalf("configuration %s is not named after the process", conf)
	}
	cfg := hsmtest.NewToken(t)
	// softhsm2-util, another process, finds the token through the same
	// configuration.
	if _, err := exec.LookPath("softhsm2-util"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("softhsm2-util is not installed")
		}
		t.Skip("softhsm2-util is not installed")
	}
	out, err := exec.Command("softhsm2-util", "--show-slots").CombinedOutput()
	if err != nil {
		t.Fatalf("softhsm2-util: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), cfg.TokenLabel) {
		t.Fatalf("softhsm2-util does not list %s:\n%s", cfg.TokenLabel, out)
	}
}

func TestStaleDirectoriesRemoved(t *testing.T) {
	hsmtest.Require(t)
	// A process that has exited: start one and wait for it.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	stale := filepath.Join(os.TempDir(), "kyso-hsmtest-"+strconv.Itoa(cmd.Process.Pid))
	if err := os.MkdirAll(filepath.Join(stale, "tokens"), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(stale) })
	t.Setenv("SOFTHSM2_CONF", "") // make ConfPath set up again
	hsmtest.ConfPath(t)
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stale directory %s left: %v", stale, err)
	}
}
