package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A check sets the certificate's series; a failure moves the failures
// gauge to its cause, a success back to "none".
func TestCheckedSetsCertificateSeries(t *testing.T) {
	m := New()
	m.Certificates([]string{"v/web"})
	na := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	ok := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	m.Checked(agent.Check{Key: "v/web", NotAfter: na, InstalledAt: at, LastSuccess: ok, Installs: 1})
	if got := testutil.ToFloat64(m.cert.notAfter.WithLabelValues("v/web")); got != float64(na.Unix()) {
		t.Errorf("notAfter = %v, want %d", got, na.Unix())
	}
	if got := testutil.ToFloat64(m.cert.installedAt.WithLabelValues("v/web")); got != float64(at.Unix()) {
		t.Errorf("installed = %v, want %d", got, at.Unix())
	}
	if got := testutil.ToFloat64(m.cert.installs.WithLabelValues("v/web")); got != 1 {
		t.Errorf("installs = %v, want 1", got)
	}
	m.Checked(agent.Check{Key: "v/web", NotAfter: na, LastSuccess: ok, Failures: 2, Cause: agent.CauseHTTP5xx})
	m.Checked(agent.Check{Key: "v/web", NotAfter: na, LastSuccess: ok, Failures: 3, Cause: "ForbiddenByPolicy", Installs: 1, Rollbacks: 1})
	want := `
# HELP akvvm_certificate_consecutive_failures Failed checks since the last success, by the cause of the latest (none after a success).
# TYPE akvvm_certificate_consecutive_failures gauge
akvvm_certificate_consecutive_failures{cause="ForbiddenByPolicy",certificate="v/web"} 3
# HELP akvvm_certificate_rollbacks_total Changes of the current version that replaced a version withdrawn in the vault by an older one.
# TYPE akvvm_certificate_rollbacks_total counter
akvvm_certificate_rollbacks_total{certificate="v/web"} 1
`
	if err := testutil.CollectAndCompare(m.reg, strings.NewReader(want), "akvvm_certificate_consecutive_failures", "akvvm_certificate_rollbacks_total"); err != nil {
		t.Error(err)
	}
	m.Checked(agent.Check{Key: "v/web", NotAfter: na, LastSuccess: ok})
	if n := testutil.CollectAndCount(m.cert.failures); n != 1 {
		t.Errorf("failure series = %d, want 1 (cause none)", n)
	}
	if got := testutil.ToFloat64(m.cert.failures.WithLabelValues("v/web", "none")); got != 0 {
		t.Errorf("failures after success = %v, want 0", got)
	}
}

// Series of a certificate appear only with values, and a reload that drops
// a certificate removes all of its series.
func TestCertificatesForgetsDropped(t *testing.T) {
	m := New()
	m.Certificates([]string{"v/a", "v/b"})
	if n := testutil.CollectAndCount(m.cert.notAfter); n != 0 {
		t.Errorf("notAfter series before any check = %d, want 0", n)
	}
	m.Checked(agent.Check{Key: "v/a", NotAfter: time.Now(), Failures: 1, Cause: agent.CauseNetwork})
	m.Checked(agent.Check{Key: "v/b", NotAfter: time.Now()})
	m.Certificates([]string{"v/b"})
	for name, n := range map[string]int{
		"notAfter": testutil.CollectAndCount(m.cert.notAfter), "failures": testutil.CollectAndCount(m.cert.failures),
		"installs": testutil.CollectAndCount(m.cert.installs), "rollbacks": testutil.CollectAndCount(m.cert.rollbacks),
	} {
		if n != 1 {
			t.Errorf("%s series = %d, want 1 (v/b only)", name, n)
		}
	}
}

// An unchanged check allocates nothing.
func TestCheckedDoesNotAllocate(t *testing.T) {
	m := New()
	m.Certificates([]string{"v/web"})
	c := agent.Check{Key: "v/web", NotAfter: time.Now(), InstalledAt: time.Now(), LastSuccess: time.Now()}
	m.Checked(c)
	if n := testing.AllocsPerRun(100, func() { m.Checked(c) }); n != 0 {
		t.Errorf("allocations per check = %v, want 0", n)
	}
}

func TestOperation(t *testing.T) {
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/secrets/web/versions", OpListVersions},
		{"GET", "/secrets/web/0123abcd", OpGetSecret},
		{"GET", "/secrets/web", OpGetSecret},
		{"GET", "/secrets/web/", OpGetSecret},
		{"GET", "/secrets", OpListSecrets},
		{"GET", "/keys/k", OpOther},
		{"PUT", "/secrets/web", OpOther},
		{"GET", "/secrets/a/b/c/d", OpOther},
	} {
		if got := Operation(tc.method, tc.path); got != tc.want {
			t.Errorf("Operation(%s %s) = %s, want %s", tc.method, tc.path, got, tc.want)
		}
	}
}

// The round trippers count Key Vault requests by operation and status and
// token requests by result, never by secret name or version.
func TestRoundTrippersCount(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/versions"):
			w.WriteHeader(http.StatusOK)
		case strings.HasPrefix(r.URL.Path, "/token"):
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	m := New()
	kv := &http.Client{Transport: m.KeyVault(http.DefaultTransport)}
	id := &http.Client{Transport: m.Identity(http.DefaultTransport)}
	for _, u := range []string{"/secrets/a/versions", "/secrets/b/versions", "/secrets/a/v1", "/secrets/b/v2"} {
		resp, err := kv.Get(srv.URL + u)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	resp, err := id.Get(srv.URL + "/token")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := kv.Get("http://127.0.0.1:1/secrets/a/versions"); err == nil {
		t.Fatal("a request to port 1 succeeded")
	}
	want := `
# HELP akvvm_keyvault_requests_total HTTP requests to Key Vault by operation and status code (error: no answer).
# TYPE akvvm_keyvault_requests_total counter
akvvm_keyvault_requests_total{operation="getSecret",status="503"} 2
akvvm_keyvault_requests_total{operation="listVersions",status="200"} 2
akvvm_keyvault_requests_total{operation="listVersions",status="error"} 1
# HELP akvvm_identity_token_requests_total Token requests sent to the identity endpoint by result.
# TYPE akvvm_identity_token_requests_total counter
akvvm_identity_token_requests_total{result="http_429"} 1
`
	if err := testutil.CollectAndCompare(m.reg, strings.NewReader(want), "akvvm_keyvault_requests_total", "akvvm_identity_token_requests_total"); err != nil {
		t.Error(err)
	}
}

// /healthz always answers 200, /readyz 503 with the reason until ready.
func TestHealthEndpoints(t *testing.T) {
	m := New()
	ready, why := false, "initial sync not done: v/web not checked yet"
	srv := httptest.NewServer(m.Handler(func() (bool, string) { return ready, why }))
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, why) {
		t.Errorf("/readyz = %d %q, want 503 with the reason", code, body)
	}
	ready, why = true, "1 certificates installed and checked"
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("/readyz when ready = %d", code)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics = %d", code)
	}
}

// A plain secret's checks land in the akvvm_secret_* series, labelled
// secret, and never in a certificate's.
func TestSecretSeries(t *testing.T) {
	m := New()
	m.Certificates([]string{"v/web"})
	m.Secrets([]string{"v/db"})
	at := time.Unix(1_800_000_000, 0)
	m.Checked(agent.Check{Key: "v/db", Secret: true, InstalledAt: at, LastSuccess: at, Installs: 1})
	want := `
# HELP akvvm_secret_installs_total Versions installed or made current again by this process.
# TYPE akvvm_secret_installs_total counter
akvvm_secret_installs_total{secret="v/db"} 1
# HELP akvvm_secret_installed_timestamp_seconds When akvvm installed the current version, in Unix seconds; its age is time() minus this.
# TYPE akvvm_secret_installed_timestamp_seconds gauge
akvvm_secret_installed_timestamp_seconds{secret="v/db"} 1.8e+09
# HELP akvvm_certificate_installs_total Versions installed or made current again by this process.
# TYPE akvvm_certificate_installs_total counter
akvvm_certificate_installs_total{certificate="v/web"} 0
`
	if err := testutil.CollectAndCompare(m.reg, strings.NewReader(want), "akvvm_secret_installs_total", "akvvm_secret_installed_timestamp_seconds", "akvvm_certificate_installs_total"); err != nil {
		t.Error(err)
	}
	m.Secrets(nil)
	if n := testutil.CollectAndCount(m.secret.installs); n != 0 {
		t.Errorf("secret series after the secret was dropped = %d", n)
	}
}
