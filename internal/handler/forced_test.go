package handler

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestReEnableWithTheSameSettingsAsksTheServiceToCheckNow(t *testing.T) {
	h, svc, vars := newTestHandler(t, "3.0.1")
	ctx := context.Background()
	var asked []string
	var askErr error
	h.AskSync = func(_ context.Context, stateDir string) error {
		asked = append(asked, stateDir)
		return askErr
	}
	if err := h.Install(ctx); err != nil {
		t.Fatal(err)
	}
	web := settingsJSON("/store", "https://myvault.vault.azure.net/secrets/web")
	writeSettings(t, h, 0, web)
	vars[SeqEnv] = "0"
	if _, err := h.Enable(ctx); err != nil {
		t.Fatal(err)
	}
	if len(asked) != 0 {
		t.Fatalf("the first enable asked the service %v; want a start", asked)
	}
	// forceUpdateTag: a new sequence number, the same settings.
	writeSettings(t, h, 1, web)
	vars[SeqEnv] = "1"
	if res, err := h.Enable(ctx); err != nil || res.Unchanged {
		t.Fatalf("re-enable = %+v, %v", res, err)
	}
	if !slices.Equal(asked, []string{h.Env.StateDir()}) {
		t.Errorf("asked %v, want the state directory once", asked)
	}
	if want := []string{"install " + h.Binary, "restart"}; !slices.Equal(svc.calls, want) {
		t.Errorf("calls = %v, want %v: no restart", svc.calls, want)
	}
	if cfg, _ := ReadServiceConfig(h.Env.StateDir()); cfg.Seq != 1 {
		t.Errorf("service config seq = %d, want 1", cfg.Seq)
	}
	if st, _ := ReadStatus(h.Env.StatusFolder, 1); st.Status.Status != StatusTransitioning {
		t.Errorf("1.status = %+v, want transitioning until the service reports", st.Status)
	}
	if seq, _, _ := ReadMRSeq(h.Env.Dir); seq != 1 {
		t.Errorf("mrseq = %d, want 1", seq)
	}
	// A service that cannot be asked is restarted.
	askErr = errors.New("no running akvvm service")
	writeSettings(t, h, 2, web)
	vars[SeqEnv] = "2"
	if _, err := h.Enable(ctx); err != nil {
		t.Fatal(err)
	}
	if want := []string{"install " + h.Binary, "restart", "restart"}; !slices.Equal(svc.calls, want) {
		t.Errorf("calls = %v, want %v", svc.calls, want)
	}
	// Other settings restart it without asking.
	askErr = nil
	writeSettings(t, h, 3, settingsJSON("/store", "https://myvault.vault.azure.net/secrets/api"))
	vars[SeqEnv] = "3"
	if _, err := h.Enable(ctx); err != nil {
		t.Fatal(err)
	}
	if len(asked) != 2 || len(svc.calls) != 4 {
		t.Errorf("new settings: asked %v, calls %v; want a restart only", asked, svc.calls)
	}
}
