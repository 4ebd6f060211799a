package handler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/config"
)

// newTestHandler lays out a handler directory as the guest agent does.
func newTestHandler(t *testing.T, version string) (*Handler, *fakeService, map[string]string) {
	t.Helper()
	root := tempDir(t)
	dir := filepath.Join(root, "Microsoft.Azure.KeyVault.KeyVaultForLinux-"+version)
	env := &Environment{
		Name: "Microsoft.Azure.KeyVault.KeyVaultForLinux", Dir: dir,
		LogFolder: filepath.Join(root, "log"), ConfigFolder: filepath.Join(dir, "config"),
		StatusFolder: filepath.Join(dir, "status"), HeartbeatFile: filepath.Join(dir, "heartbeat.log"),
	}
	for _, d := range []string{env.ConfigFolder, env.StatusFolder} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	schema, err := SchemaFor("linux", version)
	if err != nil {
		t.Fatal(err)
	}
	svc := &fakeService{}
	vars := map[string]string{}
	h := &Handler{Env: env, Schema: schema, Binary: filepath.Join(dir, "bin", "akvvm"), Service: svc,
		Getenv: func(k string) string { return vars[k] }, Now: func() time.Time { return now }, Log: discard()}
	return h, svc, vars
}

func settingsJSON(store string, urls ...string) string {
	var certs []string
	for _, u := range urls {
		certs = append(certs, fmt.Sprintf(`{"url":%q,"certificateStoreLocation":%q}`, u, store))
	}
	return `{"runtimeSettings":[{"handlerSettings":{"publicSettings":{"secretsManagementSettings":{` +
		`"pollingIntervalInS":"3600","requireInitialSync":true,"observedCertificates":[` + strings.Join(certs, ",") + `]}}}}]}`
}

func writeSettings(t *testing.T, h *Handler, seq int, content string) {
	t.Helper()
	if err := os.WriteFile(SettingsPath(h.Env.ConfigFolder, seq), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestEnableIsIdempotentPerSequenceNumber(t *testing.T) {
	h, svc, vars := newTestHandler(t, "3.0.1")
	ctx := context.Background()
	if err := h.Install(ctx); err != nil {
		t.Fatal(err)
	}
	writeSettings(t, h, 0, settingsJSON("/store", "https://myvault.vault.azure.net/secrets/web"))
	vars[SeqEnv] = "0"
	res, err := h.Enable(ctx)
	if err != nil || res.Unchanged || res.Seq != 0 {
		t.Fatalf("first enable = %+v, %v", res, err)
	}
	st, err := ReadStatus(h.Env.StatusFolder, 0)
	if err != nil || st.Status.Status != StatusTransitioning || st.Status.Operation != "Enable" {
		t.Fatalf("status after enable = %+v, %v", st, err)
	}
	cfg, err := ReadServiceConfig(h.Env.StateDir())
	if err != nil || cfg.Seq != 0 || cfg.Schema() != (config.Schema{Platform: config.Linux, Version: "3.0"}) {
		t.Fatalf("service config = %+v, %v", cfg, err)
	}
	// The guest agent calls enable again for every goal state.
	if res, err := h.Enable(ctx); err != nil || !res.Unchanged {
		t.Fatalf("repeated enable = %+v, %v; want unchanged", res, err)
	}
	if want := []string{"install " + h.Binary, "restart"}; !slices.Equal(svc.calls, want) {
		t.Fatalf("calls = %v, want %v", svc.calls, want)
	}
	// New settings: new sequence number.
	writeSettings(t, h, 1, settingsJSON("/store", "https://myvault.vault.azure.net/secrets/web", "https://myvault.vault.azure.net/secrets/api"))
	vars[SeqEnv] = "1"
	if res, err := h.Enable(ctx); err != nil || res.Unchanged || res.Seq != 1 {
		t.Fatalf("enable seq 1 = %+v, %v", res, err)
	}
	if cfg, _ := ReadServiceConfig(h.Env.StateDir()); cfg.Seq != 1 || !strings.Contains(string(cfg.Settings), "secrets/api") {
		t.Errorf("service config after seq 1 = %+v", cfg)
	}
	// Disable, then enable with the same sequence number starts it again.
	if err := h.Disable(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := ReadStatus(h.Env.StatusFolder, 1); st.Status.Operation != "Disable" || st.Status.Status != StatusSuccess {
		t.Errorf("status after disable = %+v", st.Status)
	}
	if res, err := h.Enable(ctx); err != nil || res.Unchanged {
		t.Fatalf("enable after disable = %+v, %v; want the service started", res, err)
	}
	if want := []string{"install " + h.Binary, "restart", "restart", "stop", "restart"}; !slices.Equal(svc.calls, want) {
		t.Errorf("calls = %v, want %v", svc.calls, want)
	}
}

func TestEnableReportsBadSettings(t *testing.T) {
	for name, content := range map[string]string{
		"empty file":       "",
		"certificates URL": settingsJSON("/store", "https://myvault.vault.azure.net/certificates/web"),
		"not JSON":         "{",
	} {
		t.Run(name, func(t *testing.T) {
			h, svc, vars := newTestHandler(t, "3.0.1")
			writeSettings(t, h, 5, content)
			vars[SeqEnv] = "5"
			if _, err := h.Enable(context.Background()); err == nil {
				t.Fatal("enable succeeded")
			}
			st, err := ReadStatus(h.Env.StatusFolder, 5)
			if err != nil || st.Status.Status != StatusError || !strings.HasPrefix(st.Status.FormattedMessage.Message, "Enable failed: ") {
				t.Fatalf("status = %+v, %v", st, err)
			}
			if len(svc.calls) != 0 {
				t.Errorf("service calls %v for bad settings", svc.calls)
			}
		})
	}
}

func TestEnableReportsAServiceThatDoesNotStart(t *testing.T) {
	h, svc, vars := newTestHandler(t, "3.0.1")
	svc.fail = errors.New("Job for akvvm_service.service failed")
	writeSettings(t, h, 0, settingsJSON("/store", "https://myvault.vault.azure.net/secrets/web"))
	vars[SeqEnv] = "0"
	if _, err := h.Enable(context.Background()); err == nil {
		t.Fatal("enable succeeded")
	}
	if st, _ := ReadStatus(h.Env.StatusFolder, 0); st.Status.Status != StatusError || !strings.Contains(st.Status.FormattedMessage.Message, "Job for akvvm_service.service failed") {
		t.Errorf("status = %+v", st.Status)
	}
	svc.fail = nil
	if res, err := h.Enable(context.Background()); err != nil || res.Unchanged {
		t.Errorf("retry after a failed start = %+v, %v; want the service started", res, err)
	}
}

func TestUninstallRemovesState(t *testing.T) {
	h, svc, vars := newTestHandler(t, "3.0.1")
	writeSettings(t, h, 0, settingsJSON("/store", "https://myvault.vault.azure.net/secrets/web"))
	vars[SeqEnv] = "0"
	if _, err := h.Enable(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := h.Uninstall(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(h.Env.StateDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state dir still there: %v", err)
	}
	if svc.calls[len(svc.calls)-1] != "uninstall" {
		t.Errorf("calls = %v", svc.calls)
	}
}

func TestUpdateCarriesStateOver(t *testing.T) {
	old, _, vars := newTestHandler(t, "3.0.1")
	writeSettings(t, old, 2, settingsJSON("/store", "https://myvault.vault.azure.net/secrets/web"))
	vars[SeqEnv] = "2"
	if _, err := old.Enable(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The new version sits next to the old one.
	newDir := filepath.Join(filepath.Dir(old.Env.Dir), "Microsoft.Azure.KeyVault.KeyVaultForLinux-3.1.0")
	env := *old.Env
	env.Dir = newDir
	h := *old
	h.Env = &env
	h.Getenv = func(k string) string { return map[string]string{UpdatingFromEnv: "3.0.1"}[k] }
	if err := h.Update(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg, err := ReadServiceConfig(env.StateDir())
	if err != nil || cfg.Seq != 2 {
		t.Errorf("carried service config = %+v, %v", cfg, err)
	}
	if seq, ok, _ := ReadMRSeq(newDir); !ok || seq != 2 {
		t.Errorf("carried mrseq = %d, %v", seq, ok)
	}
	// Without a previous version there is nothing to carry.
	h.Getenv = func(string) string { return "" }
	if err := h.Update(context.Background()); err != nil {
		t.Errorf("update without a previous version: %v", err)
	}
}
