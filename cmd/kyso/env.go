package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"kyso/config"
	"kyso/hsm"
	"kyso/store"
)

// env is what most commands open: the configuration, a logger, the store
// and (on demand) the HSM.
type env struct {
	cfg      config.Config
	log      *slog.Logger
	db       *store.DB
	hsm      *hsm.HSM
	registry *prometheus.Registry
}

func loadConfig(path string, io stdio) (config.Config, error) {
	return config.Load(path, io.env)
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openEnv loads the configuration and opens the store; withHSM opens the
// HSM too.
func openEnv(ctx context.Context, io stdio, configPath string, withHSM bool) (*env, error) {
	cfg, err := loadConfig(configPath, io)
	if err != nil {
		return nil, err
	}
	e := &env{cfg: cfg, log: newLogger(cfg, io.err), registry: prometheus.NewRegistry()}
	e.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	dsn := cfg.Database.DSN
	if dsn == "" {
		dsn = "sqlite:" + strings.TrimSuffix(cfg.DataDir, "/") + "/kyso.db"
	}
	if e.db, err = store.Open(ctx, dsn, e.log); err != nil {
		return nil, err
	}
	if withHSM {
		if err := e.openHSM(ctx, io); err != nil {
			e.close()
			return nil, err
		}
	}
	return e, nil
}

func (e *env) openHSM(ctx context.Context, io stdio) error {
	useLocalSoftHSM(e.cfg)
	pin, err := hsm.LoadPIN(e.cfg.HSM.PINFile, e.cfg.HSM.PINEnv)
	if err != nil {
		return fmt.Errorf("HSM user PIN (hsm.pin_file / hsm.pin_env): %w", err)
	}
	h, err := hsm.Open(ctx, hsm.Config{Module: e.cfg.HSM.Module, TokenLabel: e.cfg.HSM.TokenLabel, PIN: pin, PoolSize: e.cfg.HSM.PoolSize,
		KeyMetricLabel: keyMetricLabel}, e.log, e.registry)
	if err != nil {
		return fmt.Errorf("open HSM token %q: %w", e.cfg.HSM.TokenLabel, err)
	}
	e.hsm = h
	return nil
}

func (e *env) close() {
	if e.hsm != nil {
		e.hsm.Close()
	}
	if e.db != nil {
		e.db.Close()
	}
}

// keyMetricLabel keeps the HSM metrics' key label bounded: citizens' keys
// (one per credential) are counted together.
func keyMetricLabel(label string) string {
	if strings.HasPrefix(label, "cred-") {
		return "citizen-keys"
	}
	return label
}

// useLocalSoftHSM points SoftHSM2 at the token directory that `make run`
// creates under the data directory, unless SOFTHSM2_CONF says otherwise, so
// that kyso commands find the local token without extra setup.
func useLocalSoftHSM(cfg config.Config) {
	if cfg.HSM.Module != "" || os.Getenv("SOFTHSM2_CONF") != "" {
		return
	}
	conf, err := filepath.Abs(filepath.Join(cfg.DataDir, "hsm", "softhsm2.conf"))
	if err != nil {
		return
	}
	if _, err := os.Stat(conf); err == nil {
		os.Setenv("SOFTHSM2_CONF", conf)
	}
}
