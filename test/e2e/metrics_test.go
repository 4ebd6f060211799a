//go:build linux

package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/emulator"
)

// freeAddr returns a loopback address with a port nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// httpGet returns the status and body of url, or 0 and the error.
func httpGet(url string) (int, string) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// sample finds series (name{labels} exactly as exposed, labels sorted by
// name) in a scrape.
func sample(scrape, series string) (float64, bool) {
	for line := range strings.Lines(scrape) {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v, err == nil
		}
	}
	return 0, false
}

// The documented series change during a fault and a rotation, and /readyz
// turns 200 only once the initial sync is done and no certificate fails.
func TestMetricsDuringFaultAndRotation(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "metvault")
	first := e.create(t, "metvault", "web", emulator.CertificateSpec{DNSNames: []string{"web.example.com"}})
	e.fault(t, emulator.Fault{Op: emulator.OpGetSecret, Kind: emulator.FaultStatus, Status: 503})
	b := newBox(t)
	b.writeSettingsWith(t, e, map[string]any{"pollingIntervalInS": "1"}, nil,
		map[string]any{"url": "https://metvault.vault.azure.net/secrets/web"})
	addr := freeAddr(t)
	d := b.startRunArgs(t, e, "--metrics-listen", addr)
	base := "http://" + addr
	const cert = `certificate="metvault/web"`
	scrape := func() string {
		code, body := httpGet(base + "/metrics")
		if code != 200 {
			return ""
		}
		return body
	}

	// The initial sync fails with 503 on getSecret: not ready, and the
	// failures are counted with their cause and per request.
	waitFor(t, "/readyz 503 naming the failure", func() (bool, string) {
		code, body := httpGet(base + "/readyz")
		return code == 503 && strings.Contains(body, "in error") && strings.Contains(body, "503"), fmt.Sprint(code, " ", body)
	})
	if code, _ := httpGet(base + "/healthz"); code != 200 {
		t.Errorf("/healthz = %d while the initial sync fails, want 200", code)
	}
	s := scrape()
	if v, ok := sample(s, `akvvm_certificate_consecutive_failures{cause="http_5xx",`+cert+`}`); !ok || v < 1 {
		t.Errorf("consecutive failures during the fault = %v (%v), want ≥ 1 with cause http_5xx:\n%s", v, ok, s)
	}
	if v, _ := sample(s, `akvvm_keyvault_requests_total{operation="getSecret",status="503"}`); v < 1 {
		t.Errorf("getSecret 503 requests = %v, want ≥ 1", v)
	}
	if _, ok := sample(s, `akvvm_certificate_not_after_timestamp_seconds{`+cert+`}`); ok {
		t.Error("notAfter is exposed before any version is installed")
	}
	if !strings.Contains(s, "akvvm_pass_duration_seconds_count") {
		t.Error("no pass duration histogram")
	}

	// The fault ends: the initial sync completes and /readyz flips.
	if err := e.admin.ClearFaults(t.Context()); err != nil {
		t.Fatal(err)
	}
	b.waitInstalled(t, "metvault/web", first.Version)
	waitFor(t, "/readyz 200", func() (bool, string) {
		code, body := httpGet(base + "/readyz")
		return code == 200, fmt.Sprint(code, " ", body)
	})
	st, err := b.statusFile()
	if err != nil {
		t.Fatal(err)
	}
	notAfter := certStatus(t, st, "metvault/web").NotAfter
	waitFor(t, "the success in the metrics", func() (bool, string) {
		s = scrape()
		v, ok := sample(s, `akvvm_certificate_consecutive_failures{cause="none",`+cert+`}`)
		return ok && v == 0, s
	})
	if v, _ := sample(s, `akvvm_certificate_installs_total{`+cert+`}`); v != 1 {
		t.Errorf("installs after the first install = %v, want 1", v)
	}
	if v, _ := sample(s, `akvvm_certificate_not_after_timestamp_seconds{`+cert+`}`); int64(v) != notAfter.Unix() {
		t.Errorf("notAfter = %v, want %d", v, notAfter.Unix())
	}
	if v, _ := sample(s, `akvvm_identity_token_requests_total{result="success"}`); v < 1 {
		t.Errorf("successful token requests = %v, want ≥ 1", v)
	}
	if v, _ := sample(s, `akvvm_keyvault_requests_total{operation="getSecret",status="401"}`); v < 1 {
		t.Errorf("getSecret 401 (the challenge) = %v, want ≥ 1", v)
	}
	if strings.Contains(s, first.Version) {
		t.Error("a version appears in the metrics")
	}
	installedAt, _ := sample(s, `akvvm_certificate_installed_timestamp_seconds{`+cert+`}`)
	if installedAt < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("installed time = %v, want within the last minute", installedAt)
	}

	// A rotation: one more install, the new version's dates.
	nextSecond()
	second := e.rotate(t, "metvault", "web")
	b.waitInstalled(t, "metvault/web", second.Version)
	waitFor(t, "the rotation in the metrics", func() (bool, string) {
		s = scrape()
		v, _ := sample(s, `akvvm_certificate_installs_total{`+cert+`}`)
		return v == 2, s
	})
	if v, _ := sample(s, `akvvm_certificate_installed_timestamp_seconds{`+cert+`}`); v <= installedAt {
		t.Errorf("installed time after the rotation = %v, want after %v", v, installedAt)
	}
	if v, _ := sample(s, `akvvm_keyvault_requests_total{operation="listVersions",status="200"}`); v < 1 {
		t.Errorf("listVersions 200 requests = %v, want ≥ 1", v)
	}
	if v, _ := sample(s, `akvvm_certificate_rollbacks_total{`+cert+`}`); v != 0 {
		t.Errorf("rollbacks = %v, want 0", v)
	}

	// A fault in steady state: the installed certificate fails its checks,
	// /readyz says so, and the listing's 503s are counted.
	e.fault(t, emulator.Fault{Op: emulator.OpListVersions, Kind: emulator.FaultStatus, Status: 503})
	waitFor(t, "the steady-state failure in the metrics", func() (bool, string) {
		s = scrape()
		v, _ := sample(s, `akvvm_certificate_consecutive_failures{cause="http_5xx",`+cert+`}`)
		return v >= 1, s
	})
	if _, ok := sample(s, `akvvm_certificate_consecutive_failures{cause="none",`+cert+`}`); ok {
		t.Error("the failures gauge kept its cause=none series next to http_5xx")
	}
	if v, _ := sample(s, `akvvm_keyvault_requests_total{operation="listVersions",status="503"}`); v < 1 {
		t.Errorf("listVersions 503 requests = %v, want ≥ 1", v)
	}
	if code, body := httpGet(base + "/readyz"); code != 503 || !strings.Contains(body, "metvault/web") {
		t.Errorf("/readyz during the steady-state fault = %d %q, want 503 naming the certificate", code, body)
	}
	d.stop(t)
}

// An address without a host is refused with the explicit alternative.
func TestMetricsListenRefusesEmptyHost(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "metvault2")
	b := newBox(t)
	b.writeSettings(t, e, map[string]any{"url": "https://metvault2.vault.azure.net/secrets/web"})
	out, code := akvvm(t, append([]string{"run", "--settings", b.settings, "--state-dir", b.state, "--metrics-listen", ":9464"}, e.agentArgs()...)...)
	if code == 0 || !strings.Contains(out, "0.0.0.0:9464 if every interface is really meant") {
		t.Errorf("run --metrics-listen :9464: exit %d\n%s", code, out)
	}
}

// A refused token request counts as an identity failure and a 4xx token
// request.
func TestMetricsIdentityFailure(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "metidvault")
	e.create(t, "metidvault", "web", emulator.CertificateSpec{})
	e.fault(t, emulator.Fault{Op: "token", Kind: emulator.FaultStatus, Status: 400})
	b := newBox(t)
	b.writeSettings(t, e, map[string]any{"url": "https://metidvault.vault.azure.net/secrets/web"})
	addr := freeAddr(t)
	d := b.startRunArgs(t, e, "--metrics-listen", addr)
	waitFor(t, "an identity failure in the metrics", func() (bool, string) {
		_, s := httpGet("http://" + addr + "/metrics")
		v, _ := sample(s, `akvvm_certificate_consecutive_failures{cause="identity",certificate="metidvault/web"}`)
		n, _ := sample(s, `akvvm_identity_token_requests_total{result="http_4xx"}`)
		return v >= 1 && n >= 1, s
	})
	d.stop(t)
}
