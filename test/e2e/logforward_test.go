//go:build linux

package e2e

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/emulator"
	"github.com/akvvm/akvvm/internal/handler"
	"github.com/akvvm/akvvm/internal/logfwd/fwdtest"
)

// The tests that check what arrives send to the OpenTelemetry Collector's
// Fluent Forward receiver (otelforward_test.go). fwdtest's server stays for
// what that receiver cannot do: accept and never read.

// withLogging adds loggingSettings forwarding to endpoint to the box's settings.
func (b *box) withLogging(t *testing.T, endpoint string) {
	t.Helper()
	data, err := os.ReadFile(b.settings)
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	s["loggingSettings"] = map[string]any{"logger": "fluentd", "endpoint": endpoint, "format": "forward", "servicename": "akvvm_service"}
	if data, err = json.Marshal(s); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.settings, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLogForwardSyncSendsRecords(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "fwdvault")
	web := e.create(t, "fwdvault", "web", emulator.CertificateSpec{})
	r := startOTelForward(t, "127.0.0.1:0")
	b := newBox(t)
	b.writeSettings(t, e,
		map[string]any{"url": "https://fwdvault.vault.azure.net/secrets/web"},
		map[string]any{"url": "https://fwdvault.vault.azure.net/secrets/missing"})
	b.withLogging(t, "tcp://"+r.addr)
	start := time.Now()
	out, code := b.sync(t, e)
	if code != 1 {
		t.Fatalf("sync with a missing certificate: exit %d, want 1:\n%s", code, out)
	}
	// sync --once sends what is queued before it exits.
	recs, err := r.Wait(10*time.Second, func(recs []fwdRecord) bool {
		return findRecord(recs, "installed new version") != nil && findRecord(recs, "certificate sync failed") != nil
	})
	if err != nil {
		t.Fatalf("%v: %+v\nakvvm output:\n%s", err, recs, out)
	}
	inst := findRecord(recs, "installed new version")
	if a := inst.Attributes; inst.Tag != "akvvm_service" || a["level"] != "INFO" || a["certificate"] != "fwdvault/web" ||
		a["version"] != web.Version || a["thumbprint"] != web.Thumbprint {
		t.Errorf("install record: tag %q, %v", inst.Tag, a)
	}
	// The event time is akvvm's, to the sub-second (EventTime).
	if inst.Time.Before(start.Truncate(time.Second)) || inst.Time.After(time.Now()) || inst.Time.Nanosecond() == 0 {
		t.Errorf("event time %v, sync ran from %v", inst.Time, start)
	}
	fail := findRecord(recs, "certificate sync failed")
	msg, _ := fail.Attributes["error"].(string)
	if a := fail.Attributes; fail.Tag != "akvvm_service" || a["level"] != "WARN" || a["certificate"] != "fwdvault/missing" ||
		a["attempt"] != json.Number("1") || !strings.Contains(msg, "404") {
		t.Errorf("failure record: tag %q, %v", fail.Tag, a)
	}
	if !strings.Contains(out, "error="+strconv.Quote(msg)) {
		t.Errorf("the forwarded error %q is not the text log's:\n%s", msg, out)
	}
	noSecretForwarded(t, r.Output(), b, "fwdvault.web")
	if p := r.Problems(); len(p) > 0 {
		t.Errorf("receiver: %q", p)
	}
}

// noSecretForwarded fails when the forwarded output holds the private key
// installed at the store link name, or anything like a key or a token.
func noSecretForwarded(t *testing.T, output string, b *box, name string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(b.store, name))
	if err != nil {
		t.Fatal(err)
	}
	keys := 0
	for blk, rest := pem.Decode(data); blk != nil; blk, rest = pem.Decode(rest) {
		if strings.Contains(blk.Type, "PRIVATE KEY") {
			keys++
			if k := base64.StdEncoding.EncodeToString(blk.Bytes)[:64]; strings.Contains(output, k) {
				t.Errorf("the installed private key was forwarded")
			}
		}
	}
	if keys == 0 {
		t.Fatalf("%s holds no private key to look for", name)
	}
	for _, s := range []string{"PRIVATE KEY", "BEGIN", "eyJ"} {
		if strings.Contains(output, s) {
			t.Errorf("forwarded records hold %q: a key or a token", s)
		}
	}
}

func TestLogForwardBuffersUntilTheReceiverStarts(t *testing.T) {
	t.Parallel()
	fwdReceiverBinary(t) // built before akvvm starts, so the build does not count as downtime
	e := startEmulator(t, "latevault")
	web := e.create(t, "latevault", "web", emulator.CertificateSpec{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	b := newBox(t)
	b.writeSettings(t, e, map[string]any{"url": "https://latevault.vault.azure.net/secrets/web"})
	b.withLogging(t, "tcp://"+addr)
	d := b.startRun(t, e)
	b.waitInstalled(t, "latevault/web", web.Version)
	time.Sleep(time.Second) // a few connection attempts are refused
	r := startOTelForward(t, addr)
	recs, err := r.Wait(20*time.Second, func(recs []fwdRecord) bool {
		return findRecord(recs, "installed new version") != nil
	})
	if err != nil {
		t.Fatalf("%v: %+v\nakvvm output:\n%s", err, recs, d.out.String())
	}
	if findRecord(recs, "agent started") == nil {
		t.Errorf("the first record was not delivered: %+v", recs)
	}
	if i := findRecord(recs, "installed new version"); i.Attributes["version"] != web.Version {
		t.Errorf("install record %v", i.Attributes)
	}
	d.stop(t)
	if _, err := r.Wait(5*time.Second, func(recs []fwdRecord) bool { return findRecord(recs, "agent stopped") != nil }); err != nil {
		t.Errorf("the last record before exit: %v", err)
	}
	if strings.Contains(d.out.String(), "dropped records") {
		t.Errorf("records were dropped:\n%s", d.out.String())
	}
	if p := r.Problems(); len(p) > 0 {
		t.Errorf("receiver: %q", p)
	}
}

// TestLogForwardNeverReadingReceiverDoesNotSlowSync measures sync --once
// against a receiver that accepts and never reads, and against a port
// nobody listens on: the pass never waits for the endpoint, and the exit
// waits at most akvvm's flush timeout (500 ms) for queued records. That a
// write blocked on a full socket never reaches the log call is shown in
// internal/logfwd with 32 MB of records; here the records of a pass fit
// the socket buffers.
func TestLogForwardNeverReadingReceiverDoesNotSlowSync(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "slowvault")
	var certs []map[string]any
	for i := range 8 {
		name := fmt.Sprintf("c%d", i)
		e.create(t, "slowvault", name, emulator.CertificateSpec{})
		certs = append(certs, map[string]any{"url": "https://slowvault.vault.azure.net/secrets/" + name})
	}
	s, err := fwdtest.ListenSilent("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pass := func(b *box) time.Duration {
		t.Helper()
		start := time.Now()
		if out, code := b.sync(t, e, "--log-level", "debug"); code != 0 {
			t.Fatalf("sync: exit %d:\n%s", code, out)
		}
		return time.Since(start)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()
	plain, silent, dead := newBox(t), newBox(t), newBox(t)
	plain.writeSettings(t, e, certs...)
	silent.writeSettings(t, e, certs...)
	silent.withLogging(t, "tcp://"+s.Addr())
	dead.writeSettings(t, e, certs...)
	dead.withLogging(t, "tcp://"+refused)
	pass(plain) // warm the emulator
	without, with, down := pass(plain), pass(silent), pass(dead)
	if s.Accepted() == 0 {
		t.Error("akvvm never connected to the receiver")
	}
	t.Logf("sync --once: %s without forwarding, %s to a receiver that never reads, %s to a refused port", without, with, down)
	if with > without+time.Second {
		t.Errorf("a receiver that never reads slowed sync --once from %s to %s", without, with)
	}
	if down > without+time.Second {
		t.Errorf("a refused endpoint slowed sync --once from %s to %s", without, down)
	}
}

func TestLogForwardFromTheHandlerService(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "hfwdvault")
	web := e.create(t, "hfwdvault", "web", emulator.CertificateSpec{})
	r := startOTelForward(t, "127.0.0.1:0")
	store := filepath.Join(t.TempDir(), "store")
	g := newGuestAgent(t, "3.0.7")
	if out, code := g.run(t, "install", -1); code != 0 {
		t.Fatalf("install: exit %d\n%s", code, out)
	}
	g.writeSettings(t, 0, map[string]any{
		"secretsManagementSettings": map[string]any{"pollingIntervalInS": "3600", "requireInitialSync": true,
			"observedCertificates": []any{map[string]any{"url": "https://hfwdvault.vault.azure.net/secrets/web", "certificateStoreLocation": store}}},
		"authenticationSettings": map[string]any{"msiEndpoint": e.ready.IMDSEndpoint},
		"loggingSettings":        map[string]any{"logger": "fluentd", "endpoint": "tcp://" + r.addr, "format": "forward", "servicename": "kvvm_linux"},
	})
	if out, code := g.run(t, "enable", 0); code != 0 {
		t.Fatalf("enable 0: exit %d\n%s", code, out)
	}
	stop := g.startService(t, e)
	g.waitStatus(t, 0, handler.StatusSuccess)
	recs, err := r.Wait(10*time.Second, func(recs []fwdRecord) bool { return findRecord(recs, "installed new version") != nil })
	if err != nil {
		t.Fatal(err)
	}
	if i := findRecord(recs, "installed new version"); i.Tag != "kvvm_linux" || i.Attributes["version"] != web.Version || i.Attributes["certificate"] != "hfwdvault/web" {
		t.Errorf("install record: tag %q, %v", i.Tag, i.Attributes)
	}
	if findRecord(recs, "service started") == nil {
		t.Errorf("the service's own records are not forwarded: %+v", recs)
	}
	stop()
	log, err := os.ReadFile(filepath.Join(g.env.LogFolder, "akvvm_service.log"))
	if err != nil || !strings.Contains(string(log), `"msg":"forwarding logs"`) {
		t.Errorf("the service log does not say it forwards: %v\n%s", err, log)
	}
}
