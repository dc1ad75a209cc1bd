package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"kyso/auth"
	"kyso/problem"
	"kyso/ratelimit"
)

// Checker is a readiness probe (the HSM answers, the database answers).
type Checker struct {
	Name  string
	Check func(ctx context.Context) error
}

// Deps are what the core server needs.
type Deps struct {
	Log *slog.Logger
	// Registry is served at /metrics; the server's own HTTP metrics are
	// registered on it.
	Registry *prometheus.Registry
	Ready    []Checker
	// Principals authenticates API tokens and client certificates.
	Principals TokenAuthenticator
	// Assertions verifies citizens' bearer identity assertions; nil
	// refuses every citizen.
	Assertions auth.AssertionVerifier
	// MaxBodyBytes limits request bodies unless a route says otherwise.
	MaxBodyBytes int64
	// Version is reported by /healthz.
	Version string
	// Limits holds the per-client rate limits (nil: none).
	Limits *ratelimit.Limiter
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed when identifying a client for rate limits.
	TrustedProxies []netip.Prefix
}

// Area is a group of routes for one part of the service.
type Area interface {
	Routes(r *Router)
}

// Server is the HTTP handler.
type Server struct {
	deps    Deps
	mux     *mux.Router
	router  *Router
	metrics *httpMetrics
}

// New builds the server with the core routes and the given areas.
func New(d Deps, areas ...Area) *Server {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = 64 << 20
	}
	s := &Server{deps: d, mux: mux.NewRouter(), metrics: newHTTPMetrics(d.Registry)}
	s.mux.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.finish(w, r, problem.Newf(http.StatusNotFound, "not-found", "no resource at %s", r.URL.Path))
	})
	s.mux.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.finish(w, r, problem.Newf(http.StatusMethodNotAllowed, "method-not-allowed", "%s is not allowed on %s", r.Method, r.URL.Path))
	})
	s.router = &Router{s: s}
	s.coreRoutes(s.router)
	for _, a := range areas {
		a.Routes(s.router)
	}
	return s
}

// Routes lists every registered route as "METHOD /path".
func (s *Server) Routes() []RouteInfo { return append([]RouteInfo(nil), s.router.routes...) }

// ServeHTTP handles a request: request ID, panic recovery, access log and
// metrics wrap every route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.Header.Get("X-Request-ID")
	if !validRequestID(id) {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		id = hex.EncodeToString(b)
	}
	w.Header().Set("X-Request-ID", id)
	ctx := context.WithValue(r.Context(), requestIDKey{}, id)
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	r = r.WithContext(ctx)
	defer func() {
		if v := recover(); v != nil {
			s.deps.Log.ErrorContext(ctx, "panic in handler", "request_id", id, "panic", v, "path", r.URL.Path)
			if !rec.wrote {
				problem.Write(rec, r, problem.New(http.StatusInternalServerError, "internal", "the server could not complete the request"))
			}
		}
		route := "unmatched"
		if m := mux.CurrentRoute(r); m != nil {
			if t, err := m.GetPathTemplate(); err == nil {
				route = t
			}
		}
		if rr, ok := r.Context().Value(routeKey{}).(*string); ok && *rr != "" {
			route = *rr
		}
		d := time.Since(start)
		s.metrics.observe(r.Method, route, rec.status, d)
		s.deps.Log.LogAttrs(ctx, slog.LevelInfo, "http",
			slog.String("request_id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.String("route", route), slog.Int("status", rec.status), slog.Int64("bytes", rec.bytes),
			slog.Duration("duration", d), slog.String("remote", r.RemoteAddr), slog.String("principal", rec.principal))
	}()
	var route string
	r = r.WithContext(context.WithValue(r.Context(), routeKey{}, &route))
	s.mux.ServeHTTP(rec, r)
}

type requestIDKey struct{}
type routeKey struct{}

// RequestID returns the request's ID.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._\-]{8,64}$`)

func validRequestID(s string) bool { return requestIDPattern.MatchString(s) }

type statusRecorder struct {
	http.ResponseWriter
	status    int
	bytes     int64
	wrote     bool
	principal string
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// finish writes err as a problem and logs it when it is an internal error.
func (s *Server) finish(w http.ResponseWriter, r *http.Request, err error) {
	failLogged(s.deps.Log, w, r, err)
}

// metricsHandler serves the registry.
func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.deps.Registry, promhttp.HandlerOpts{ErrorLog: nil})
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kyso_http_requests_total", Help: "HTTP requests by route, method and status."},
			[]string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kyso_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"method", "route"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
				switch c.(type) {
				case *prometheus.CounterVec:
					m.requests = are.ExistingCollector.(*prometheus.CounterVec)
				case *prometheus.HistogramVec:
					m.duration = are.ExistingCollector.(*prometheus.HistogramVec)
				}
			}
		}
	}
	return m
}

func (m *httpMetrics) observe(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(method, route, statusClass(status)).Inc()
	m.duration.WithLabelValues(method, route).Observe(d.Seconds())
}

func statusClass(code int) string { return strconv.Itoa(code) }
