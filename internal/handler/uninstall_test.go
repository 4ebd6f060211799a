package handler

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/store"
)

// Remove completes emptyStore (fakes_test.go) as a store.Store.
func (emptyStore) Remove(context.Context, store.Target, store.Ref) ([]store.Installed, error) {
	return nil, nil
}

// removalStore records Remove calls and whether the service was already
// removed at each call.
type removalStore struct {
	svc   *fakeService
	calls []string
	fail  error
}

func (s *removalStore) Install(context.Context, store.Target, store.Certificate) (store.Installed, error) {
	return store.Installed{}, errors.New("unexpected Install")
}
func (s *removalStore) List(context.Context, store.Target, store.Ref) ([]store.Installed, error) {
	return nil, errors.New("unexpected List")
}
func (s *removalStore) MakeCurrent(context.Context, store.Target, store.Ref, string) (store.Installed, error) {
	return store.Installed{}, errors.New("unexpected MakeCurrent")
}
func (s *removalStore) Delete(context.Context, store.Target, store.Ref, []string) ([]store.Installed, error) {
	return nil, errors.New("unexpected Delete")
}
func (s *removalStore) Remove(_ context.Context, t store.Target, ref store.Ref) ([]store.Installed, error) {
	call := t.Location + " " + ref.Vault + "/" + ref.Name
	if !slices.Contains(s.svc.calls, "uninstall") {
		call += " (service still installed)"
	}
	s.calls = append(s.calls, call)
	if s.fail != nil {
		return nil, s.fail
	}
	return []store.Installed{{Ref: ref, Version: "v1"}}, nil
}

// withRemoval turns removeCertificatesOnUninstall on in settingsJSON output.
func withRemoval(settings, value string) string {
	return strings.Replace(settings, `"pollingIntervalInS"`, `"removeCertificatesOnUninstall":`+value+`,"pollingIntervalInS"`, 1)
}

// enabledHandler is a handler whose service received settings.
func enabledHandler(t *testing.T, settings string) (*Handler, *fakeService, *removalStore, *int) {
	t.Helper()
	h, svc, vars := newTestHandler(t, "3.0.1")
	writeSettings(t, h, 0, settings)
	vars[SeqEnv] = "0"
	if _, err := h.Enable(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := &removalStore{svc: svc}
	opened := 0
	h.NewStore = func(*slog.Logger) (store.Store, error) { opened++; return st, nil }
	return h, svc, st, &opened
}

func TestUninstallRemovesCertificatesWhenConfigured(t *testing.T) {
	for _, value := range []string{`true`, `"True"`} {
		t.Run(value, func(t *testing.T) {
			h, _, st, _ := enabledHandler(t, withRemoval(settingsJSON("/srv/certs",
				"https://myvault.vault.azure.net/secrets/web", "https://other.vault.azure.net/secrets/api"), value))
			if err := h.Uninstall(context.Background()); err != nil {
				t.Fatal(err)
			}
			want := []string{"/srv/certs myvault/web", "/srv/certs other/api"}
			if !slices.Equal(st.calls, want) {
				t.Errorf("Remove calls = %q, want %q (after the service is removed)", st.calls, want)
			}
			if _, err := os.Stat(h.Env.StateDir()); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("state dir still there: %v", err)
			}
		})
	}
}

func TestUninstallKeepsCertificatesByDefault(t *testing.T) {
	for name, settings := range map[string]string{
		"absent": settingsJSON("/srv/certs", "https://myvault.vault.azure.net/secrets/web"),
		"false":  withRemoval(settingsJSON("/srv/certs", "https://myvault.vault.azure.net/secrets/web"), `false`),
	} {
		t.Run(name, func(t *testing.T) {
			h, _, _, opened := enabledHandler(t, settings)
			if err := h.Uninstall(context.Background()); err != nil {
				t.Fatal(err)
			}
			if *opened != 0 {
				t.Error("the certificate store was opened although removal is off")
			}
		})
	}
}

func TestUninstallWithoutSettingsRemovesNothing(t *testing.T) {
	h, svc, _ := newTestHandler(t, "3.0.1")
	h.NewStore = func(*slog.Logger) (store.Store, error) { return nil, errors.New("unexpected NewStore") }
	if err := h.Install(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := h.Uninstall(context.Background()); err != nil {
		t.Fatal(err)
	}
	if svc.calls[len(svc.calls)-1] != "uninstall" {
		t.Errorf("calls = %v", svc.calls)
	}
}

// A failed removal fails the command but not the service removal, and
// keeps the settings so that uninstalling again retries.
func TestFailedRemovalIsReportedAndRetried(t *testing.T) {
	h, svc, st, _ := enabledHandler(t, withRemoval(settingsJSON("/srv/certs", "https://myvault.vault.azure.net/secrets/web"), `true`))
	st.fail = errors.New("permission denied")
	err := h.Uninstall(context.Background())
	if err == nil || !strings.Contains(err.Error(), "permission denied") || !strings.Contains(err.Error(), "myvault.vault.azure.net/secrets/web") {
		t.Fatalf("Uninstall = %v, want the store's error naming the certificate", err)
	}
	if !slices.Contains(svc.calls, "uninstall") {
		t.Errorf("the service was not removed: calls = %v", svc.calls)
	}
	if _, err := ReadServiceConfig(h.Env.StateDir()); err != nil {
		t.Fatalf("the settings are gone, so a retry cannot remove the certificates: %v", err)
	}
	st.fail = nil
	if err := h.Uninstall(context.Background()); err != nil {
		t.Fatalf("second Uninstall: %v", err)
	}
	if len(st.calls) != 2 {
		t.Errorf("Remove calls = %q, want one per attempt", st.calls)
	}
	if _, err := os.Stat(h.Env.StateDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state dir still there after the retry: %v", err)
	}
}

func TestUninstallWithoutStoreFailsWhenRemovalIsOn(t *testing.T) {
	h, _, _, _ := enabledHandler(t, withRemoval(settingsJSON("/srv/certs", "https://myvault.vault.azure.net/secrets/web"), `true`))
	h.NewStore = nil
	if err := h.Uninstall(context.Background()); err == nil {
		t.Fatal("Uninstall succeeded without a store although removal was asked for")
	}
}

// During an update the guest agent runs the old version's uninstall after
// setting up the new version's directory: the certificates the new
// version's service goes on managing must stay.
func TestUninstallDuringUpdateKeepsCertificates(t *testing.T) {
	h, svc, st, opened := enabledHandler(t, withRemoval(settingsJSON("/srv/certs", "https://myvault.vault.azure.net/secrets/web"), `true`))
	newDir := filepath.Join(filepath.Dir(h.Env.Dir), "Microsoft.Azure.KeyVault.KeyVaultForLinux-3.1.0")
	if err := os.MkdirAll(newDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(newDir, EnvironmentFile), []byte("[]"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := h.Uninstall(context.Background()); err != nil {
		t.Fatal(err)
	}
	if *opened != 0 || len(st.calls) != 0 {
		t.Errorf("certificates removed during an update: Remove calls %q", st.calls)
	}
	if !slices.Contains(svc.calls, "uninstall") {
		t.Errorf("the service was not removed: calls = %v", svc.calls)
	}
}

// Directories that are not another version of this extension (another
// extension, a folder without HandlerEnvironment.json) are no update.
func TestUninstallIgnoresUnrelatedDirectories(t *testing.T) {
	h, _, st, _ := enabledHandler(t, withRemoval(settingsJSON("/srv/certs", "https://myvault.vault.azure.net/secrets/web"), `true`))
	parent := filepath.Dir(h.Env.Dir)
	for _, d := range []string{"Microsoft.Azure.Monitor.AzureMonitorLinuxAgent-1.2.0", "Microsoft.Azure.KeyVault.KeyVaultForLinux-3.1.0"} {
		if err := os.MkdirAll(filepath.Join(parent, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(parent, "Microsoft.Azure.Monitor.AzureMonitorLinuxAgent-1.2.0", EnvironmentFile), []byte("[]"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := h.Uninstall(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(st.calls) != 1 {
		t.Errorf("Remove calls = %q, want the certificate removed", st.calls)
	}
}
