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

	cert     *family // akvvm_certificate_*, by certificate
	secret   *family // akvvm_secret_*, by secret (observedSecrets)
	requests *prometheus.CounterVec
	tokens   *prometheus.CounterVec
	pass     prometheus.Histogram

	mu   sync.Mutex
	reqs map[reqKey]prometheus.Counter
	toks map[string]prometheus.Counter
}

// family is the per-entry series of one kind, certificates or secrets,
// each named akvvm_<kind>_… with the entry's key as the <kind> label.
type family struct {
	notAfter    *prometheus.GaugeVec
	installedAt *prometheus.GaugeVec
	lastSuccess *prometheus.GaugeVec
	failures    *prometheus.GaugeVec
	installs    *prometheus.CounterVec
	rollbacks   *prometheus.CounterVec
	series      map[string]*certSeries
}

// certSeries caches one entry's children, so a check sets values without
// looking up labels.
type certSeries struct {
	notAfter, installedAt, lastSuccess prometheus.Gauge
	installs, rollbacks                prometheus.Counter
	failures                           prometheus.Gauge
	cause                              string
}

// noFailure is the cause label of an entry whose last check succeeded.
const noFailure = "none"

// newFamily makes the series of kind ("certificate" or "secret"); what
// names the entries in the help texts.
func newFamily(kind, what string) *family {
	key := []string{kind}
	name := func(s string) string { return "akvvm_" + kind + "_" + s }
	return &family{
		notAfter: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name("not_after_timestamp_seconds"),
			Help: "NotAfter of the installed current version, in Unix seconds."}, key),
		installedAt: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name("installed_timestamp_seconds"),
			Help: "When akvvm installed the current version, in Unix seconds; its age is time() minus this."}, key),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name("last_success_timestamp_seconds"),
			Help: "When the last successful check of the " + what + " ended, in Unix seconds."}, key),
		failures: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name("consecutive_failures"),
			Help: "Failed checks since the last success, by the cause of the latest (none after a success)."}, []string{kind, "cause"}),
		installs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("installs_total"),
			Help: "Versions installed or made current again by this process."}, key),
		rollbacks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("rollbacks_total"),
			Help: "Changes of the current version that replaced a version withdrawn in the vault by an older one."}, key),
		series: map[string]*certSeries{},
	}
}

func (f *family) collectors() []prometheus.Collector {
	return []prometheus.Collector{f.notAfter, f.installedAt, f.lastSuccess, f.failures, f.installs, f.rollbacks}
}

// New returns the metrics, registered with a registry of their own along
// with the Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg:    prometheus.NewRegistry(),
		cert:   newFamily("certificate", "certificate"),
		secret: newFamily("secret", "secret"),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "akvvm_keyvault_requests_total",
			Help: "HTTP requests to Key Vault by operation and status code (error: no answer)."}, []string{"operation", "status"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "akvvm_identity_token_requests_total",
			Help: "Token requests sent to the identity endpoint by result."}, []string{"result"}),
		pass: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "akvvm_pass_duration_seconds",
			Help:    "Duration of the agent's passes (checks of the due certificates).",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}}),
		reqs: map[reqKey]prometheus.Counter{},
		toks: map[string]prometheus.Counter{},
	}
	m.reg.MustRegister(m.cert.collectors()...)
	m.reg.MustRegister(m.secret.collectors()...)
	m.reg.MustRegister(m.requests, m.tokens, m.pass,
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
	m.cert.keep(keys)
}

// Secrets is Certificates for the plain secrets (akvvm_secret_*).
func (m *Metrics) Secrets(keys []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.secret.keep(keys)
}

// keep keeps the series of keys and deletes every other entry's.
func (f *family) keep(keys []string) {
	keep := make(map[string]bool, len(keys))
	for _, k := range keys {
		keep[k] = true
		f.seriesOf(k)
	}
	for k, s := range f.series {
		if keep[k] {
			continue
		}
		for _, v := range []*prometheus.GaugeVec{f.notAfter, f.installedAt, f.lastSuccess} {
			v.DeleteLabelValues(k)
		}
		f.installs.DeleteLabelValues(k)
		f.rollbacks.DeleteLabelValues(k)
		f.failures.DeleteLabelValues(k, s.cause)
		delete(f.series, k)
	}
}

// seriesOf returns the cached children of key, making them the first
// time. The time series appear once a value is known, except the
// counters and failures, which start at 0. The caller holds m.mu.
func (f *family) seriesOf(key string) *certSeries {
	if s, ok := f.series[key]; ok {
		return s
	}
	s := &certSeries{
		installs:  f.installs.WithLabelValues(key),
		rollbacks: f.rollbacks.WithLabelValues(key),
		failures:  f.failures.WithLabelValues(key, noFailure),
		cause:     noFailure,
	}
	f.series[key] = s
	return s
}

// Checked records the outcome of one check.
func (m *Metrics) Checked(c agent.Check) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.cert
	if c.Secret {
		f = m.secret
	}
	s := f.seriesOf(c.Key)
	setTime(&s.notAfter, f.notAfter, c.Key, c.NotAfter)
	setTime(&s.installedAt, f.installedAt, c.Key, c.InstalledAt)
	setTime(&s.lastSuccess, f.lastSuccess, c.Key, c.LastSuccess)
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
		f.failures.DeleteLabelValues(c.Key, s.cause)
		s.failures, s.cause = f.failures.WithLabelValues(c.Key, cause), cause
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
