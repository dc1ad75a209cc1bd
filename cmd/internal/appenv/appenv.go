// Package appenv opens what Kyso's commands share: the configuration, a
// logger, the store and the HSM token. Both binaries use it: kyso (the
// server and operator tools) and kyso-dev (local setup, test data, demo and
// load tests).
package appenv

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"kyso/config"
	"kyso/credential"
	"kyso/hsm"
	"kyso/store"
)

// Env is an opened environment.
type Env struct {
	Config config.Config
	Log    *slog.Logger
	DB     *store.DB
	HSM    *hsm.HSM
	// Citizen is the citizen-key token, opened by OpenCitizenHSM: it
	// holds only the derivation secret of citizens' wrapped keys.
	Citizen *hsm.HSM
	// Audit is the token the audit log's checkpoint key is used through,
	// when hsm.audit_module names a module of its own (else nil).
	Audit *hsm.HSM
	// Root is the root CA's token, open only during a key ceremony.
	Root     *hsm.HSM
	Registry *prometheus.Registry
}

// LoadConfig reads the configuration file (if path is not empty) and the
// KYSO_* variables of environ.
func LoadConfig(path string, environ []string) (config.Config, error) {
	return config.Load(path, environ)
}

// NewLogger returns the logger the configuration asks for, writing to w.
func NewLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Options say what Open opens.
type Options struct {
	ConfigPath string
	Environ    []string
	// LogTo receives the log.
	LogTo io.Writer
	// WithHSM opens the HSM token too.
	WithHSM bool
}

// Open loads the configuration and opens the store, and the HSM when asked.
func Open(ctx context.Context, o Options) (*Env, error) {
	cfg, err := LoadConfig(o.ConfigPath, o.Environ)
	if err != nil {
		return nil, err
	}
	e := &Env{Config: cfg, Log: NewLogger(cfg, o.LogTo), Registry: prometheus.NewRegistry()}
	e.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if e.DB, err = store.Open(ctx, cfg.DatabaseDSN(), e.Log); err != nil {
		return nil, err
	}
	if o.WithHSM {
		if err := e.OpenHSM(ctx); err != nil {
			e.Close()
			return nil, err
		}
	}
	return e, nil
}

// ErrNoModule refuses to pick SoftHSM silently in production mode.
var ErrNoModule = errors.New("config: hsm.module: set the path of the HSM's PKCS#11 module; production never falls back to SoftHSM (mode: production)")

// Module returns the PKCS#11 module to load: hsm.module, or in development
// mode SoftHSM2 found in its usual places (pointed at the token directory
// that make run creates under the data directory).
func Module(cfg config.Config) (string, error) {
	if cfg.HSM.Module != "" {
		return cfg.HSM.Module, nil
	}
	if cfg.Mode != config.ModeDevelopment {
		return "", ErrNoModule
	}
	useLocalSoftHSM(cfg)
	return hsm.DefaultModule()
}

// CitizenModule returns the PKCS#11 module the citizen-key token is
// reached through: hsm.citizen_module, else the module of Module.
func CitizenModule(cfg config.Config) (string, error) {
	if cfg.HSM.CitizenModule != "" {
		return cfg.HSM.CitizenModule, nil
	}
	return Module(cfg)
}

// AuditModule returns the PKCS#11 module the audit log's checkpoint key is
// used through: hsm.audit_module, else the module of Module.
func AuditModule(cfg config.Config) (string, error) {
	if cfg.HSM.AuditModule != "" {
		return cfg.HSM.AuditModule, nil
	}
	return Module(cfg)
}

// SeparateAuditModule reports whether the audit log key is reached through
// a module other than the service token's.
func SeparateAuditModule(cfg config.Config) bool {
	return cfg.HSM.AuditModule != "" && cfg.HSM.AuditModule != cfg.HSM.Module
}

// OpenAuditHSM logs in to the service token (hsm.token_label, its user
// PIN) through hsm.audit_module, for the audit log's checkpoint key alone.
// Callers use it only when SeparateAuditModule; otherwise the key is on
// the token OpenHSM opened.
func (e *Env) OpenAuditHSM(ctx context.Context) (*hsm.HSM, error) {
	module, err := AuditModule(e.Config)
	if err != nil {
		return nil, err
	}
	pin, err := hsm.LoadPIN(e.Config.HSM.PINFile, e.Config.HSM.PINEnv)
	if err != nil {
		return nil, fmt.Errorf("HSM user PIN (hsm.pin_file / hsm.pin_env): %w", err)
	}
	h, err := hsm.Open(ctx, hsm.Config{Module: module, TokenLabel: e.Config.HSM.TokenLabel, PIN: pin, PoolSize: 2}, e.Log, nil)
	if err != nil {
		return nil, fmt.Errorf("open HSM token %q through hsm.audit_module %s: %w", e.Config.HSM.TokenLabel, module, err)
	}
	return h, nil
}

// OpenHSM logs in to the configured token.
func (e *Env) OpenHSM(ctx context.Context) error {
	module, err := Module(e.Config)
	if err != nil {
		return err
	}
	pin, err := hsm.LoadPIN(e.Config.HSM.PINFile, e.Config.HSM.PINEnv)
	if err != nil {
		return fmt.Errorf("HSM user PIN (hsm.pin_file / hsm.pin_env): %w", err)
	}
	h, err := hsm.Open(ctx, hsm.Config{Module: module, TokenLabel: e.Config.HSM.TokenLabel, PIN: pin,
		PoolSize: e.Config.HSM.PoolSize, KeyMetricLabel: KeyMetricLabel}, e.Log, e.Registry)
	if err != nil {
		return fmt.Errorf("open HSM token %q: %w", e.Config.HSM.TokenLabel, err)
	}
	e.HSM = h
	return nil
}

// OpenCitizenHSM logs in to the citizen-key token, with its own PIN.
func (e *Env) OpenCitizenHSM(ctx context.Context) error {
	module, err := CitizenModule(e.Config)
	if err != nil {
		return err
	}
	pin, err := hsm.LoadPIN(e.Config.HSM.CitizenPINFile, e.Config.HSM.CitizenPINEnv)
	if err != nil {
		return fmt.Errorf("citizen-key token user PIN (hsm.citizen_pin_file / hsm.citizen_pin_env): %w", err)
	}
	h, err := hsm.Open(ctx, hsm.Config{Module: module, TokenLabel: e.Config.HSM.CitizenTokenLabel, PIN: pin,
		PoolSize: e.Config.HSM.PoolSize, KeyMetricLabel: KeyMetricLabel}, e.Log, e.Registry)
	if err != nil {
		return fmt.Errorf("open citizen-key token %q (kyso token init creates it): %w", e.Config.HSM.CitizenTokenLabel, err)
	}
	e.Citizen = h
	return nil
}

// OpenRootHSM logs in to the root CA's token, with its own PIN. Only key
// ceremonies call it.
func (e *Env) OpenRootHSM(ctx context.Context) (*hsm.HSM, error) {
	module, err := Module(e.Config)
	if err != nil {
		return nil, err
	}
	pin, err := hsm.LoadPIN(e.Config.HSM.RootPINFile, e.Config.HSM.RootPINEnv)
	if err != nil {
		return nil, fmt.Errorf("root token user PIN (hsm.root_pin_file / hsm.root_pin_env): %w", err)
	}
	h, err := hsm.Open(ctx, hsm.Config{Module: module, TokenLabel: e.Config.HSM.RootTokenLabel, PIN: pin, PoolSize: 1}, e.Log, nil)
	if err != nil {
		return nil, fmt.Errorf("open root token %q (kyso token init creates it): %w", e.Config.HSM.RootTokenLabel, err)
	}
	return h, nil
}

// InitRootToken makes sure the root CA's token exists, with its own PINs
// (random PIN files root.pin and root-so.pin when missing). It reports
// whether it initialised the token.
func InitRootToken(cfg config.Config) (bool, error) {
	soFile := ""
	if cfg.HSM.RootPINFile != "" {
		soFile = filepath.Join(filepath.Dir(cfg.HSM.RootPINFile), "root-so.pin")
	}
	created, err := InitToken(cfg, cfg.HSM.RootTokenLabel, cfg.HSM.RootPINFile, cfg.HSM.RootPINEnv, soFile)
	if err != nil {
		return false, fmt.Errorf("root token: %w", err)
	}
	return created, nil
}

// InitCitizenToken makes sure the citizen-key token exists, with its own
// PINs (random PIN files citizen.pin and citizen-so.pin when missing), and
// holds the derivation secret of citizens' wrapped keys. It writes what it
// created to out.
func InitCitizenToken(ctx context.Context, o Options, out io.Writer) error {
	cfg, err := LoadConfig(o.ConfigPath, o.Environ)
	if err != nil {
		return err
	}
	soFile := ""
	if cfg.HSM.CitizenPINFile != "" {
		soFile = filepath.Join(filepath.Dir(cfg.HSM.CitizenPINFile), "citizen-so.pin")
	}
	module, err := CitizenModule(cfg)
	if err != nil {
		return err
	}
	created, err := initTokenOn(module, cfg.HSM.CitizenTokenLabel, cfg.HSM.CitizenPINFile, cfg.HSM.CitizenPINEnv, soFile)
	if err != nil {
		return fmt.Errorf("citizen-key token: %w", err)
	}
	if created {
		fmt.Fprintf(out, "citizen-key token %q initialised\n", cfg.HSM.CitizenTokenLabel)
	}
	o.WithHSM = false
	e, err := Open(ctx, o)
	if err != nil {
		return err
	}
	defer e.Close()
	if err := e.OpenCitizenHSM(ctx); err != nil {
		return err
	}
	made, err := credential.NewKeys(credential.NewStore(e.DB), e.Citizen, "").EnsureSecret(ctx)
	if err != nil {
		return fmt.Errorf("citizen-key derivation secret: %w", err)
	}
	if made {
		fmt.Fprintf(out, "citizen-key derivation secret %s generated on %q\n", credential.SecretLabel, cfg.HSM.CitizenTokenLabel)
	}
	return nil
}

// Close releases the HSMs and the store.
func (e *Env) Close() {
	if e.Audit != nil && e.Audit != e.HSM {
		e.Audit.Close()
	}
	if e.Root != nil {
		e.Root.Close()
	}
	if e.Citizen != nil {
		e.Citizen.Close()
	}
	if e.HSM != nil {
		e.HSM.Close()
	}
	if e.DB != nil {
		e.DB.Close()
	}
}

// KeyMetricLabel keeps the HSM metrics' key label bounded: citizens' keys
// (one per credential) are counted together.
func KeyMetricLabel(label string) string {
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

// InitToken makes sure the token label exists on the configured module,
// creating random PIN files when they are missing (the SO PIN in
// soPINFile). It reports whether it initialised the token.
func InitToken(cfg config.Config, label, pinFile, pinEnv, soPINFile string) (bool, error) {
	module, err := Module(cfg)
	if err != nil {
		return false, err
	}
	return initTokenOn(module, label, pinFile, pinEnv, soPINFile)
}

func initTokenOn(module, label, pinFile, pinEnv, soPINFile string) (bool, error) {
	userPIN, err := hsm.LoadPIN(pinFile, pinEnv)
	if err != nil {
		if pinFile == "" {
			return false, err
		}
		if userPIN, err = writeRandomPIN(pinFile); err != nil {
			return false, err
		}
	}
	soPIN, err := hsm.LoadPIN(soPINFile, "")
	if err != nil {
		if soPIN, err = writeRandomPIN(soPINFile); err != nil {
			return false, err
		}
	}
	err = hsm.InitToken(module, label, soPIN, userPIN)
	if errors.Is(err, hsm.ErrTokenExists) {
		return false, nil
	}
	return err == nil, err
}

func writeRandomPIN(path string) (string, error) {
	if _, err := os.Stat(path); err == nil {
		b, err := os.ReadFile(path)
		return strings.TrimSpace(string(b)), err
	}
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	pin := base64.RawURLEncoding.EncodeToString(b)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(pin+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write PIN file: %w", err)
	}
	return pin, nil
}
