//go:build linux

package e2e

import (
	"encoding/json"
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

// The receiver is fwdtest's forward-protocol server: Debian has no fluentd
// or Fluent Bit package, and the Go forward libraries ship no server.

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

func listenForward(t *testing.T, addr string) *fwdtest.Receiver {
	t.Helper()
	r, err := fwdtest.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// find returns the first event with msg, or nil.
func find(evs []fwdtest.Event, msg string) *fwdtest.Event {
	for i := range evs {
		if evs[i].Record["msg"] == msg {
			return &evs[i]
		}
	}
	return nil
}

func TestLogForwardSyncSendsRecords(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "fwdvault")
	web := e.create(t, "fwdvault", "web", emulator.CertificateSpec{})
	r := listenForward(t, "127.0.0.1:0")
	b := newBox(t)
	b.writeSettings(t, e,
		map[string]any{"url": "https://fwdvault.vault.azure.net/secrets/web"},
		map[string]any{"url": "https://fwdvault.vault.azure.net/secrets/missing"})
	b.withLogging(t, "tcp://"+r.Addr())
	out, code := b.sync(t, e)
	if code != 1 {
		t.Fatalf("sync with a missing certificate: exit %d, want 1:\n%s", code, out)
	}
	// sync --once sends what is queued before it exits.
	evs, err := r.Wait(10*time.Second, func(evs []fwdtest.Event) bool {
		return find(evs, "installed new version") != nil && find(evs, "certificate sync failed") != nil
	})
	if err != nil {
		t.Fatalf("%v: %+v\nakvvm output:\n%s", err, evs, out)
	}
	inst := find(evs, "installed new version")
	if inst.Tag != "akvvm_service" || inst.Record["level"] != "INFO" || inst.Record["certificate"] != "fwdvault/web" ||
		inst.Record["version"] != web.Version || inst.Record["thumbprint"] == "" {
		t.Errorf("install record: tag %q, %v", inst.Tag, inst.Record)
	}
	if d := time.Since(inst.Time); d < 0 || d > time.Minute {
		t.Errorf("event time %v", inst.Time)
	}
	fail := find(evs, "certificate sync failed")
	msg, _ := fail.Record["error"].(string)
	if fail.Record["level"] != "WARN" || fail.Record["certificate"] != "fwdvault/missing" || fail.Record["attempt"] != int64(1) ||
		!strings.Contains(msg, "404") {
		t.Errorf("failure record: %v", fail.Record)
	}
	if !strings.Contains(out, "error="+strconv.Quote(msg)) {
		t.Errorf("the forwarded error %q is not the text log's:\n%s", msg, out)
	}
	if errs := r.Errors(); len(errs) > 0 {
		t.Errorf("receiver: %v", errs)
	}
}

func TestLogForwardBuffersUntilTheReceiverStarts(t *testing.T) {
	t.Parallel()
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
	r := listenForward(t, addr)
	evs, err := r.Wait(20*time.Second, func(evs []fwdtest.Event) bool {
		return find(evs, "installed new version") != nil
	})
	if err != nil {
		t.Fatalf("%v: %+v\nakvvm output:\n%s", err, evs, d.out.String())
	}
	if find(evs, "agent started") == nil {
		t.Errorf("the first record was not delivered: %+v", evs)
	}
	if i := find(evs, "installed new version"); i.Record["version"] != web.Version {
		t.Errorf("install record %v", i.Record)
	}
	d.stop(t)
	if _, err := r.Wait(5*time.Second, func(evs []fwdtest.Event) bool { return find(evs, "agent stopped") != nil }); err != nil {
		t.Errorf("the last record before exit: %v", err)
	}
	if strings.Contains(d.out.String(), "dropped records") {
		t.Errorf("records were dropped:\n%s", d.out.String())
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
	r := listenForward(t, "127.0.0.1:0")
	store := filepath.Join(t.TempDir(), "store")
	g := newGuestAgent(t, "3.0.7")
	if out, code := g.run(t, "install", -1); code != 0 {
		t.Fatalf("install: exit %d\n%s", code, out)
	}
	g.writeSettings(t, 0, map[string]any{
		"secretsManagementSettings": map[string]any{"pollingIntervalInS": "3600", "requireInitialSync": true,
			"observedCertificates": []any{map[string]any{"url": "https://hfwdvault.vault.azure.net/secrets/web", "certificateStoreLocation": store}}},
		"authenticationSettings": map[string]any{"msiEndpoint": e.ready.IMDSEndpoint},
		"loggingSettings":        map[string]any{"logger": "fluentd", "endpoint": "tcp://" + r.Addr(), "format": "forward", "servicename": "kvvm_linux"},
	})
	if out, code := g.run(t, "enable", 0); code != 0 {
		t.Fatalf("enable 0: exit %d\n%s", code, out)
	}
	stop := g.startService(t, e)
	g.waitStatus(t, 0, handler.StatusSuccess)
	evs, err := r.Wait(10*time.Second, func(evs []fwdtest.Event) bool { return find(evs, "installed new version") != nil })
	if err != nil {
		t.Fatal(err)
	}
	if i := find(evs, "installed new version"); i.Tag != "kvvm_linux" || i.Record["version"] != web.Version || i.Record["certificate"] != "hfwdvault/web" {
		t.Errorf("install record: tag %q, %v", i.Tag, i.Record)
	}
	if find(evs, "service started") == nil {
		t.Errorf("the service's own records are not forwarded: %+v", evs)
	}
	stop()
	log, err := os.ReadFile(filepath.Join(g.env.LogFolder, "akvvm_service.log"))
	if err != nil || !strings.Contains(string(log), `"msg":"forwarding logs"`) {
		t.Errorf("the service log does not say it forwards: %v\n%s", err, log)
	}
}
