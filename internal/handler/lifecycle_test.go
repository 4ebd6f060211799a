package handler

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/store"
)

// Disable leaves the stopped marker and a heartbeat that is not Ready;
// the next enable clears the marker before it starts the service (a
// service that found it would exit at once).
func TestDisableStaysUntilTheNextEnable(t *testing.T) {
	h, svc, vars := newTestHandler(t, "3.0.1")
	ctx := context.Background()
	if err := h.Install(ctx); err != nil {
		t.Fatal(err)
	}
	if !IsStopped(h.Env.StateDir()) {
		t.Fatal("after install the service may run: no stopped marker before the first enable")
	}
	var stoppedAtStart []bool
	svc.onRestart = func() { stoppedAtStart = append(stoppedAtStart, IsStopped(h.Env.StateDir())) }
	writeSettings(t, h, 0, settingsJSON("/store", "https://myvault.vault.azure.net/secrets/web"))
	vars[SeqEnv] = "0"
	if _, err := h.Enable(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.Disable(ctx); err != nil {
		t.Fatal(err)
	}
	if !IsStopped(h.Env.StateDir()) {
		t.Error("disable left no stopped marker: a restarted service would poll again")
	}
	status, msg, err := ReadHeartbeat(h.Env.HeartbeatFile)
	if err != nil || status != HeartbeatNotReady || !strings.HasPrefix(msg, "disabled") {
		t.Errorf("heartbeat after disable = %q %q, %v; want NotReady, disabled", status, msg, err)
	}
	if st, _ := ReadStatus(h.Env.StatusFolder, 0); st.Status.Operation != "Disable" || st.Status.Status != StatusSuccess {
		t.Errorf("status after disable = %+v", st.Status)
	}
	if _, err := h.Enable(ctx); err != nil {
		t.Fatal(err)
	}
	if IsStopped(h.Env.StateDir()) {
		t.Error("enable after disable left the stopped marker")
	}
	if !slices.Equal(stoppedAtStart, []bool{false, false}) {
		t.Errorf("stopped marker present at the service's start: %v", stoppedAtStart)
	}
}

// A reporter whose extension was disabled writes neither status nor
// heartbeat, and stops the agent at its next tick.
func TestReporterWritesNothingWhileDisabled(t *testing.T) {
	h, _, _ := newTestHandler(t, "3.0.1")
	if err := os.WriteFile(StatusPath(h.Env.StatusFolder, 4), []byte("disable wrote this"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := setStopped(h.Env.StateDir(), true); err != nil {
		t.Fatal(err)
	}
	rep := NewReporter(h.Env, 4, discard())
	rep.interval = 10 * time.Millisecond
	a := &blockingAgent{}
	done := make(chan error, 1)
	go func() { done <- rep.Run(context.Background(), a) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a disabled service's reporter did not stop the agent")
	}
	if !a.cancelled() {
		t.Error("the agent's context was not cancelled")
	}
	if b, _ := os.ReadFile(StatusPath(h.Env.StatusFolder, 4)); string(b) != "disable wrote this" {
		t.Errorf("status overwritten while disabled: %s", b)
	}
	if _, err := os.Stat(h.Env.HeartbeatFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("heartbeat written while disabled: %v", err)
	}
}

// blockingAgent runs until its context ends.
type blockingAgent struct {
	mu   sync.Mutex
	done bool
}

func (a *blockingAgent) Run(ctx context.Context) error {
	<-ctx.Done()
	a.mu.Lock()
	a.done = true
	a.mu.Unlock()
	return nil
}

func (a *blockingAgent) Status() agent.Status {
	return agent.Status{Phase: agent.Success, Message: "polling", Updated: now}
}

func (a *blockingAgent) cancelled() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.done
}

// Without a service manager every command fails and says what to do, in
// the error and in the status file the guest agent reads.
func TestWithoutServiceManagerCommandsFailWithAnErrorStatus(t *testing.T) {
	h, _, vars := newTestHandler(t, "3.0.1")
	h.Service = Unavailable{Reason: "systemd is not running: set AKVVM_SERVICE_MANAGER=manual"}
	ctx := context.Background()
	writeSettings(t, h, 2, settingsJSON("/store", "https://myvault.vault.azure.net/secrets/web"))
	vars[SeqEnv] = "2"
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, ErrNoServiceManager) || !strings.Contains(err.Error(), "AKVVM_SERVICE_MANAGER=manual") {
			t.Errorf("%s = %v", op, err)
		}
		st, rerr := ReadStatus(h.Env.StatusFolder, 2)
		if rerr != nil || st.Status.Operation != op || st.Status.Status != StatusError ||
			!strings.Contains(st.Status.FormattedMessage.Message, "AKVVM_SERVICE_MANAGER=manual") {
			t.Errorf("status after %s = %+v, %v", op, st.Status, rerr)
		}
	}
	check("Install", h.Install(ctx))
	_, err := h.Enable(ctx)
	check("Enable", err)
	if !IsStopped(h.Env.StateDir()) {
		t.Error("a failed start cleared the stopped marker")
	}
	check("Disable", h.Disable(ctx))
	if err := h.Uninstall(ctx); !errors.Is(err, ErrNoServiceManager) {
		t.Errorf("Uninstall = %v", err)
	}
}

// Enable records every certificate it hands to the service, a union over
// all enables, and survives a damaged list.
func TestEnableRecordsEveryHandedCertificate(t *testing.T) {
	h, _, vars := newTestHandler(t, "3.0.1")
	ctx := context.Background()
	for seq, urls := range [][]string{
		{"https://myvault.vault.azure.net/secrets/web", "https://myvault.vault.azure.net/secrets/api"},
		{"https://myvault.vault.azure.net/secrets/web"},
	} {
		writeSettings(t, h, seq, settingsJSON("/store", urls...))
		vars[SeqEnv] = string(rune('0' + seq))
		if _, err := h.Enable(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadHanded(h.Env.StateDir())
	if err != nil || len(got) != 2 || got[0].Ref.Name != "web" || got[1].Ref.Name != "api" || got[1].Target.Location != "/store" {
		t.Fatalf("handed = %+v, %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(h.Env.StateDir(), handedFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	writeSettings(t, h, 2, settingsJSON("/other", "https://myvault.vault.azure.net/secrets/web"))
	vars[SeqEnv] = "2"
	if _, err := h.Enable(ctx); err != nil {
		t.Fatalf("enable with a damaged list: %v", err)
	}
	if got, err := ReadHanded(h.Env.StateDir()); err != nil || len(got) != 1 || got[0].Target.Location != "/other" {
		t.Errorf("handed after a damaged list = %+v, %v", got, err)
	}
}

// Uninstall with removeCertificatesOnUninstall removes certificates that
// only earlier settings named, and those the store says akvvm installed
// at a known target.
func TestUninstallRemovesCertificatesEarlierSettingsNamed(t *testing.T) {
	h, svc, st, _ := enabledHandler(t, settingsJSON("/srv/old",
		"https://myvault.vault.azure.net/secrets/web", "https://myvault.vault.azure.net/secrets/dropped"))
	writeSettings(t, h, 1, withRemoval(settingsJSON("/srv/certs", "https://myvault.vault.azure.net/secrets/web"), "true"))
	h.Getenv = func(k string) string { return map[string]string{SeqEnv: "1"}[k] }
	if _, err := h.Enable(context.Background()); err != nil {
		t.Fatal(err)
	}
	es := &enumeratingStore{removalStore: st, owned: map[string][]store.Ref{"/srv/certs": {{Vault: "myvault", Name: "byhand"}}}}
	h.NewStore = func(*slog.Logger) (store.Store, error) { return es, nil }
	if err := h.Uninstall(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := slices.Clone(st.calls)
	slices.Sort(got)
	want := []string{"/srv/certs myvault/byhand", "/srv/certs myvault/web", "/srv/old myvault/dropped", "/srv/old myvault/web"}
	if !slices.Equal(got, want) {
		t.Errorf("Remove calls = %q, want %q", got, want)
	}
	if !slices.Contains(svc.calls, "uninstall") {
		t.Errorf("service calls = %v", svc.calls)
	}
}

// enumeratingStore is a removalStore that names what it holds per target.
type enumeratingStore struct {
	*removalStore
	owned map[string][]store.Ref
}

func (s *enumeratingStore) Owned(_ context.Context, t store.Target) ([]store.Ref, error) {
	return s.owned[t.Location], nil
}
