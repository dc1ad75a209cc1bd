package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"kyso/cmd/internal/appenv"
	"kyso/config"
	"kyso/hsm"
	"kyso/store"
)

// env is what most commands open: the configuration, a logger, the store
// and (on demand) the HSM.
type env struct {
	cfg     config.Config
	log     *slog.Logger
	db      *store.DB
	hsm     *hsm.HSM
	citizen *hsm.HSM // the citizen-key token, opened by openCitizenHSM
	// auditHSM reaches the audit log key through hsm.audit_module when
	// that names a module of its own (opened by logKeyHSM).
	auditHSM *hsm.HSM
	registry *prometheus.Registry
}

func loadConfig(path string, io stdio) (config.Config, error) {
	return appenv.LoadConfig(path, io.Env)
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger { return appenv.NewLogger(cfg, w) }

// openEnv loads the configuration and opens the store; withHSM opens the
// HSM too.
func openEnv(ctx context.Context, io stdio, configPath string, withHSM bool) (*env, error) {
	a, err := appenv.Open(ctx, appenv.Options{ConfigPath: configPath, Environ: io.Env, LogTo: io.Err, WithHSM: withHSM})
	if err != nil {
		return nil, err
	}
	return &env{cfg: a.Config, log: a.Log, db: a.DB, hsm: a.HSM, registry: a.Registry}, nil
}

// openCitizenHSM opens the citizen-key token.
func (e *env) openCitizenHSM(ctx context.Context) error {
	a := &appenv.Env{Config: e.cfg, Log: e.log, Registry: e.registry}
	if err := a.OpenCitizenHSM(ctx); err != nil {
		return err
	}
	e.citizen = a.Citizen
	return nil
}

// logKeyHSM returns the token the audit log's checkpoint key is used
// through: the service token, or the same token reached through
// hsm.audit_module when that names another module.
func (e *env) logKeyHSM(ctx context.Context) (*hsm.HSM, error) {
	if !appenv.SeparateAuditModule(e.cfg) {
		return e.hsm, nil
	}
	if e.auditHSM == nil {
		a := &appenv.Env{Config: e.cfg, Log: e.log, Registry: e.registry}
		h, err := a.OpenAuditHSM(ctx)
		if err != nil {
			return nil, err
		}
		e.auditHSM = h
	}
	return e.auditHSM, nil
}

func (e *env) close() {
	(&appenv.Env{DB: e.db, HSM: e.hsm, Citizen: e.citizen, Audit: e.auditHSM}).Close()
}

// keyMetricLabel keeps the HSM metrics' key label bounded.
func keyMetricLabel(label string) string { return appenv.KeyMetricLabel(label) }
