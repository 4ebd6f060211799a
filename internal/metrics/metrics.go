// Package metrics exports akvvm's Prometheus metrics and health endpoints.
// It implements agent.Observer for the per-certificate series and wraps
// the HTTP clients for the per-process request counts. Labels are bounded:
// a certificate's key (never a version), a fixed set of causes, Key Vault
// operations derived from the path shape, and HTTP status codes.
package metrics

import (
	"sync"
	"time"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds akvvm's collectors and their registry.
type Metrics struct {
	reg *prometheus.Registry

	notAfter    *prometheus.GaugeVec
	installedAt *prometheus.GaugeVec
	lastSuccess *prometheus.GaugeVec
	failures    *prometheus.GaugeVec
	installs    *prometheus.CounterVec
	rollbacks   *prometheus.CounterVec
	requests    *prometheus.CounterVec
	tokens      *prometheus.CounterVec
	pass        prometheus.Histogram

	mu    sync.Mutex
	certs map[string]*certSeries
	reqs  map[reqKey]prometheus.Counter
	toks  map[string]prometheus.Counter
}

// certSeries caches one certificate's children, so a check sets values
// without looking up labels.
type certSeries struct {
	notAfter, installedAt, lastSuccess prometheus.Gauge
	installs, rollbacks                prometheus.Counter
	failures                           prometheus.Gauge
	cause                              string
}

// noFailure is the cause label of a certificate whose last check succeeded.
const noFailure = "none"

// New returns the metrics, registered with a registry of their own along
// with the Go runtime and process collectors.
func New() *Metrics {
	cert := []string{"certificate"}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		notAfter: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "akvvm_certificate_not_after_timestamp_seconds",
			Help: "NotAfter of the installed current version, in Unix seconds."}, cert),
		installedAt: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "akvvm_certificate_installed_timestamp_seconds",
			Help: "When akvvm installed the current version, in Unix seconds; its age is time() minus this."}, cert),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "akvvm_certificate_last_success_timestamp_seconds",
			Help: "When the last successful check of the certificate ended, in Unix seconds."}, cert),
		failures: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "akvvm_certificate_consecutive_failures",
			Help: "Failed checks since the last success, by the cause of the latest (none after a success)."}, []string{"certificate", "cause"}),
		installs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "akvvm_certificate_installs_total",
			Help: "Versions installed or made current again by this process."}, cert),
		rollbacks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "akvvm_certificate_rollbacks_total",
			Help: "Changes of the current version that replaced a version withdrawn in the vault by an older one."}, cert),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "akvvm_keyvault_requests_total",
			Help: "HTTP requests to Key Vault by operation and status code (error: no answer)."}, []string{"operation", "status"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "akvvm_identity_token_requests_total",
			Help: "Token requests sent to the identity endpoint by result."}, []string{"result"}),
		pass: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "akvvm_pass_duration_seconds",
			Help:    "Duration of the agent's passes (checks of the due certificates).",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}}),
		certs: map[string]*certSeries{},
		reqs:  map[reqKey]prometheus.Counter{},
		toks:  map[string]prometheus.Counter{},
	}
	m.reg.MustRegister(m.notAfter, m.installedAt, m.lastSuccess, m.failures, m.installs, m.rollbacks,
		m.requests, m.tokens, m.pass,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry that holds the metrics.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

var _ agent.Observer = (*Metrics)(nil)

// Certificates keeps the series of keys and deletes those of every other
// certificate. A new certificate starts with no failures and no installs.
func (m *Metrics) Certificates(keys []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keep := make(map[string]bool, len(keys))
	for _, k := range keys {
		keep[k] = true
		m.seriesLocked(k)
	}
	for k, s := range m.certs {
		if keep[k] {
			continue
		}
		for _, v := range []*prometheus.GaugeVec{m.notAfter, m.installedAt, m.lastSuccess} {
			v.DeleteLabelValues(k)
		}
		m.installs.DeleteLabelValues(k)
		m.rollbacks.DeleteLabelValues(k)
		m.failures.DeleteLabelValues(k, s.cause)
		delete(m.certs, k)
	}
}

// seriesLocked returns the cached children of key, making them the first
// time. The time series appear once a value is known, except the
// counters and failures, which start at 0.
func (m *Metrics) seriesLocked(key string) *certSeries {
	if s, ok := m.certs[key]; ok {
		return s
	}
	s := &certSeries{
		installs:  m.installs.WithLabelValues(key),
		rollbacks: m.rollbacks.WithLabelValues(key),
		failures:  m.failures.WithLabelValues(key, noFailure),
		cause:     noFailure,
	}
	m.certs[key] = s
	return s
}

// Checked records the outcome of one check.
func (m *Metrics) Checked(c agent.Check) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.seriesLocked(c.Key)
	setTime(&s.notAfter, m.notAfter, c.Key, c.NotAfter)
	setTime(&s.installedAt, m.installedAt, c.Key, c.InstalledAt)
	setTime(&s.lastSuccess, m.lastSuccess, c.Key, c.LastSuccess)
	if c.Installs > 0 {
		s.installs.Add(float64(c.Installs))
	}
	if c.Rollbacks > 0 {
		s.rollbacks.Add(float64(c.Rollbacks))
	}
	cause := c.Cause
	if c.Failures == 0 || cause == "" {
		cause = noFailure
	}
	if cause != s.cause {
		m.failures.DeleteLabelValues(c.Key, s.cause)
		s.failures, s.cause = m.failures.WithLabelValues(c.Key, cause), cause
	}
	s.failures.Set(float64(c.Failures))
}

// PassDone records the duration of a pass.
func (m *Metrics) PassDone(d time.Duration) { m.pass.Observe(d.Seconds()) }

// setTime sets the gauge *g of key to t in Unix seconds, making the child
// the first time; a zero t leaves it as it is (absent until known).
func setTime(g *prometheus.Gauge, vec *prometheus.GaugeVec, key string, t time.Time) {
	if t.IsZero() {
		return
	}
	if *g == nil {
		*g = vec.WithLabelValues(key)
	}
	(*g).Set(float64(t.UnixNano()) / 1e9)
}
