package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"time"

	"kyso/api"
	"kyso/auth"
	"kyso/config"
	"kyso/ratelimit"
)

func runServe(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("serve", io.Err)
	configPath := fs.String("config", "", "configuration file (YAML, merged over the defaults; default $KYSO_CONFIG); KYSO_* variables override it")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	if *configPath == "" {
		*configPath = envConfigPath(io)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(io.Err, "kyso serve: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return exitUsage
	}
	cfg, err := loadConfig(*configPath, io)
	if err != nil {
		return fail(io.Err, "serve", err)
	}
	if cfg.Mode == config.ModeProduction {
		if err := cfg.CheckProduction(); err != nil {
			return fail(io.Err, "serve", err)
		}
	}
	e, err := openEnv(ctx, io, *configPath, true)
	if err != nil {
		return fail(io.Err, "serve", err)
	}
	defer e.close()
	b, err := buildServer(ctx, e)
	if err != nil {
		return fail(io.Err, "serve", err)
	}
	defer b.stop()
	if err := listenAndServe(ctx, e, b.server); err != nil {
		return fail(io.Err, "serve", err)
	}
	return exitOK
}

// built is the HTTP server with what stands behind it.
type built struct {
	server     *api.Server
	principals *auth.Principals
	// stop ends background work (CRL and OCSP refresh, pruning).
	stop func()
}

// buildServer opens every component and returns the HTTP server.
func buildServer(ctx context.Context, e *env) (*built, error) {
	principals, err := auth.NewPrincipals(ctx, e.db)
	if err != nil {
		return nil, err
	}
	w, err := wire(ctx, e, principals)
	if err != nil {
		return nil, err
	}
	srv := api.New(api.Deps{
		Log:            e.log,
		Registry:       e.registry,
		Principals:     principals,
		Assertions:     w.assertions,
		MaxBodyBytes:   e.cfg.HTTP.MaxBodyBytes,
		Version:        version,
		Limits:         rateLimits(e.cfg.HTTP.RateLimits),
		TrustedProxies: trustedProxies(e.cfg.HTTP.TrustedProxies),
		Ready: []api.Checker{
			{Name: "hsm", Check: e.hsm.Ping},
			{Name: "database", Check: e.db.Ping},
		},
	}, w.areas...)
	return &built{server: srv, principals: principals, stop: w.stop}, nil
}

// rateLimits turns the configured limits into the API's limiter.
func rateLimits(c config.RateLimits) *ratelimit.Limiter {
	rule := func(l config.RateLimit) ratelimit.Rule { return ratelimit.Rule{Rate: l.Rate, Burst: l.Burst} }
	return api.Limits(map[string]ratelimit.Rule{
		api.LimitIdentity: rule(c.Identity), api.LimitTSA: rule(c.TSA), api.LimitOCSPSigned: rule(c.OCSPSigned),
		api.LimitCRL: rule(c.CRL), api.LimitVerify: rule(c.Verify), api.LimitEnrol: rule(c.Enrol),
	})
}

// trustedProxies parses the validated CIDRs.
func trustedProxies(cidrs []string) []netip.Prefix {
	var out []netip.Prefix
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func listenAndServe(ctx context.Context, e *env, h http.Handler) error {
	cfg := e.cfg
	srv := &http.Server{
		Addr:              cfg.Listen,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		WriteTimeout:      cfg.HTTP.WriteTimeout,
		IdleTimeout:       cfg.HTTP.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
	if cfg.TLS.CertFile != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.TLS.ClientCAFile != "" {
			pem, err := os.ReadFile(cfg.TLS.ClientCAFile)
			if err != nil {
				return fmt.Errorf("tls.client_ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("tls.client_ca_file: no PEM certificates in %s", cfg.TLS.ClientCAFile)
			}
			tc.ClientCAs = pool
			tc.ClientAuth = tls.VerifyClientCertIfGiven
		}
		srv.TLSConfig = tc
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	scheme := "http"
	if cfg.TLS.CertFile != "" {
		scheme = "https"
	}
	e.log.Info("kyso serving", "listen", ln.Addr().String(), "url", scheme+"://"+ln.Addr().String(), "public_url", cfg.PublicURL, "version", version)
	errc := make(chan error, 1)
	go func() {
		if cfg.TLS.CertFile != "" {
			errc <- srv.ServeTLS(ln, cfg.TLS.CertFile, cfg.TLS.KeyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	e.log.Info("shutting down", "grace", cfg.HTTP.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	return nil
}
