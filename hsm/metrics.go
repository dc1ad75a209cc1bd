package hsm

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	ops        *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	recoveries prometheus.Counter
	keyLabel   func(string) string
}

func newMetrics(reg prometheus.Registerer, keyLabel func(string) string) (*metrics, error) {
	m := &metrics{
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kyso_hsm_operations_total",
			Help: "PKCS#11 operations by key, mechanism and result (ok or error).",
		}, []string{"key", "mechanism", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kyso_hsm_operation_duration_seconds",
			Help:    "Duration of PKCS#11 operations, including waiting for a session and recovery.",
			Buckets: []float64{.0002, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"key", "mechanism"}),
		recoveries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kyso_hsm_recoveries_total",
			Help: "Times the sessions, login or PKCS#11 library were set up again after a failure.",
		}),
		keyLabel: keyLabel,
	}
	if m.keyLabel == nil {
		m.keyLabel = func(s string) string { return s }
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.ops, err = register(reg, m.ops); err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, m.duration); err != nil {
		return nil, err
	}
	if m.recoveries, err = register(reg, m.recoveries); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector registered before it when
// another HSM shares the registry.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}

func (m *metrics) observe(key, mechanism string, start time.Time, err error) {
	k := m.keyLabel(key)
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.ops.WithLabelValues(k, mechanism, result).Inc()
	m.duration.WithLabelValues(k, mechanism).Observe(time.Since(start).Seconds())
}
