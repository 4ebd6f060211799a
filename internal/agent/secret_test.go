//go:build !windows

package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/secretfile"
	"github.com/akvvm/akvvm/internal/store"
)

const secretValue = "Server=db;Password=hunter2-do-not-log"

// secretHarness is an agent keeping one certificate and one plain secret,
// its file and records in a temporary directory.
type secretHarness struct {
	*harness
	dir  string
	path string
	logs *bytes.Buffer
}

func newSecretHarness(t *testing.T, reload []string) *secretHarness {
	t.Helper()
	h := &secretHarness{harness: newHarness(t), dir: t.TempDir(), logs: &bytes.Buffer{}}
	h.path = filepath.Join(h.dir, "app", "db.conn")
	sec := CertSpec{Ref: store.Ref{Vault: "v", Name: "db"}, VaultURL: "https://v.vault.azure.net", URL: "https://v.vault.azure.net/secrets/db",
		Target: store.Target{Location: h.path},
		Secret: &secretfile.Target{URL: "https://v.vault.azure.net/secrets/db", Path: h.path, Mode: 0o640}}
	if reload != nil {
		sec.Reload = &Hook{Command: reload}
	}
	h.spec.Certificates = append(h.spec.Certificates, sec)
	h.addVersion(t, "c1", time.Hour)
	return h
}

func (h *secretHarness) agent(t *testing.T) *Agent {
	t.Helper()
	return h.harness.agent(t, func(d *Deps) {
		d.Secrets = secretfile.New(filepath.Join(h.dir, "state", "secrets"))
		d.Logger = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		d.StatusFile = filepath.Join(h.dir, "state", "status.json")
	})
}

func (h *secretHarness) secret(t *testing.T, version, value string, age time.Duration) {
	t.Helper()
	h.src.add("db", version, value, h.clock.Now().Add(-age))
}

func (h *secretHarness) file(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(h.path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func secretEntry(t *testing.T, st Status) CertStatus {
	t.Helper()
	for _, c := range st.Certificates {
		if c.IsSecret() {
			return c
		}
	}
	t.Fatalf("no secret in the status: %+v", st.Certificates)
	return CertStatus{}
}

func TestSecretWrittenThenRotated(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "reloaded")
	h := newSecretHarness(t, []string{"/bin/sh", "-c", `echo "$AKVVM_KIND $AKVVM_SECRET $AKVVM_VERSION $AKVVM_PATH" >> ` + marker})
	h.secret(t, "s1", secretValue, time.Hour)
	a := h.agent(t)
	st := a.SyncOnce(context.Background())
	if st.Phase != Success || !strings.Contains(st.Message, "1 of 1 certificates installed and 1 of 1 secrets written") {
		t.Fatalf("status = %s: %s", st.Phase, st.Message)
	}
	if got := h.file(t); got != secretValue {
		t.Fatalf("file = %q", got)
	}
	if fi, _ := os.Stat(h.path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode = %04o, want 0640", fi.Mode().Perm())
	}
	e := secretEntry(t, st)
	if e.Kind != KindSecret || e.InstalledVersion != "s1" || e.Location != h.path || e.Thumbprint != "" {
		t.Errorf("entry = %+v", e)
	}
	_, gets := h.src.counts()
	a.SyncOnce(context.Background()) // unchanged: nothing downloaded, nothing written, no reload
	if _, g := h.src.counts(); g != gets {
		t.Errorf("an unchanged poll downloaded %d values", g-gets)
	}
	h.clock.Advance(time.Minute)
	h.secret(t, "s2", "rotated", 0)
	st = a.SyncOnce(context.Background())
	if got := h.file(t); got != "rotated" {
		t.Fatalf("file after rotation = %q", got)
	}
	if e := secretEntry(t, st); e.InstalledVersion != "s2" || e.LastError != "" {
		t.Errorf("entry after rotation = %+v", e)
	}
	data, _ := os.ReadFile(marker)
	want := "secret db s1 " + h.path + "\nsecret db s2 " + h.path + "\n"
	if string(data) != want {
		t.Errorf("reload command ran with %q, want %q", data, want)
	}
	status, _ := os.ReadFile(filepath.Join(h.dir, "state", "status.json"))
	for what, text := range map[string]string{"logs": h.logs.String(), "status": string(status), "message": st.Message} {
		if strings.Contains(text, "hunter2") || strings.Contains(text, "rotated") {
			t.Errorf("the %s show the value", what)
		}
	}
	var decoded Status
	if err := json.Unmarshal(status, &decoded); err != nil || secretEntry(t, decoded).Kind != "secret" {
		t.Errorf("status.json: %v", err)
	}
}

func TestSecretFileRemovedOrEditedIsWrittenAgain(t *testing.T) {
	h := newSecretHarness(t, nil)
	h.secret(t, "s1", secretValue, time.Hour)
	a := h.agent(t)
	a.SyncOnce(context.Background())
	for name, change := range map[string]func(){
		"removed": func() { _ = os.Remove(h.path) },
		"edited":  func() { _ = os.WriteFile(h.path, []byte("by hand"), 0o640) },
		"chmod":   func() { _ = os.Chmod(h.path, 0o644) },
	} {
		change()
		st := a.SyncOnce(context.Background())
		if got := h.file(t); got != secretValue {
			t.Errorf("%s: file = %q", name, got)
		}
		if fi, _ := os.Stat(h.path); fi.Mode().Perm() != 0o640 {
			t.Errorf("%s: mode = %04o", name, fi.Mode().Perm())
		}
		if e := secretEntry(t, st); e.LastError != "" {
			t.Errorf("%s: %s", name, e.LastError)
		}
	}
	if !strings.Contains(h.logs.String(), "changed or replaced outside akvvm") {
		t.Errorf("the log does not say why the file was written again:\n%s", h.logs)
	}
}

func TestSecretWithdrawnFallsBackAndGoneKeepsTheFile(t *testing.T) {
	h := newSecretHarness(t, nil)
	h.secret(t, "s1", "old", 2*time.Hour)
	h.secret(t, "s2", "new", time.Hour)
	a := h.agent(t)
	a.SyncOnce(context.Background())
	if got := h.file(t); got != "new" {
		t.Fatalf("file = %q", got)
	}
	h.src.edit("db", "s2", func(v *keyvault.Version) { v.Enabled = false })
	st := a.SyncOnce(context.Background())
	if got := h.file(t); got != "old" {
		t.Errorf("file after the current version was disabled = %q, want the older one", got)
	}
	if e := secretEntry(t, st); e.InstalledVersion != "s1" || !strings.Contains(e.Notice, "withdrawn in the vault: version s2") {
		t.Errorf("entry = %+v", e)
	}
	h.src.edit("db", "s1", func(v *keyvault.Version) { v.Enabled = false })
	st = a.SyncOnce(context.Background())
	if got := h.file(t); got != "old" {
		t.Errorf("file with nothing usable = %q, want it kept", got)
	}
	if e := secretEntry(t, st); !strings.Contains(e.LastError, "no enabled, currently valid version") || !strings.Contains(e.LastError, "kept") {
		t.Errorf("entry = %+v", e)
	}
}

func TestSecretErrorsAndReadyCountSecrets(t *testing.T) {
	h := newSecretHarness(t, nil)
	a := h.agent(t)
	st := a.SyncOnce(context.Background()) // db does not exist yet
	if !strings.Contains(st.Message, "1 of 1 certificates installed and 0 of 1 secrets written") {
		t.Errorf("message = %s", st.Message)
	}
	if ok, why := a.Ready(); ok || !strings.Contains(why, "v/db") {
		t.Errorf("Ready = %v, %s", ok, why)
	}
	h.secret(t, "s1", secretValue, time.Hour)
	h.clock.Advance(time.Hour)
	a.SyncOnce(context.Background())
	if ok, why := a.Ready(); !ok || why != "1 certificate and 1 secret installed and checked" {
		t.Errorf("Ready = %v, %q", ok, why)
	}
}

func TestSecretNeedsAWriter(t *testing.T) {
	h := newSecretHarness(t, nil)
	if _, err := New(h.spec, Deps{Source: h.src, Store: h.store}); err == nil || !strings.Contains(err.Error(), "observedSecrets") {
		t.Fatalf("New = %v", err)
	}
}

func TestSecretObserved(t *testing.T) {
	h := newSecretHarness(t, nil)
	h.secret(t, "s1", secretValue, time.Hour)
	r := &kindRecorder{}
	a := h.harness.agent(t, func(d *Deps) {
		d.Secrets = secretfile.New(filepath.Join(h.dir, "state", "secrets"))
		d.Observer = r
	})
	a.SyncOnce(context.Background())
	if strings.Join(r.certs, ",") != "v/web" || strings.Join(r.secrets, ",") != "v/db" {
		t.Errorf("certificates %v, secrets %v", r.certs, r.secrets)
	}
	for _, c := range r.checks {
		if c.Secret != (c.Key == "v/db") || c.Installs != 1 {
			t.Errorf("check %+v", c)
		}
	}
}

type kindRecorder struct {
	mu             sync.Mutex
	certs, secrets []string
	checks         []Check
}

func (r *kindRecorder) Certificates(k []string) { r.certs = k }
func (r *kindRecorder) Secrets(k []string)      { r.secrets = k }
func (r *kindRecorder) Checked(c Check)         { r.mu.Lock(); r.checks = append(r.checks, c); r.mu.Unlock() }
func (r *kindRecorder) PassDone(time.Duration)  {}

// An identity granted Get alone still keeps a plain secret's file at the
// current version (getonly.go), from the one GET of each poll.
func TestSecretGetOnlyRotates(t *testing.T) {
	h := newSecretHarness(t, nil)
	h.secret(t, "s1", "one", time.Hour)
	src := &getOnlySource{fakeSource: h.src, refuse: true}
	a := h.harness.agent(t, func(d *Deps) {
		d.Source = src
		d.Secrets = secretfile.New(filepath.Join(h.dir, "state", "secrets"))
	})
	a.SyncOnce(context.Background())
	h.clock.Advance(time.Minute)
	h.secret(t, "s2", "two", 0)
	st := a.SyncOnce(context.Background())
	if got := h.file(t); got != "two" {
		t.Fatalf("file = %q", got)
	}
	if e := secretEntry(t, st); e.InstalledVersion != "s2" || e.LastError != "" || !strings.Contains(e.Notice, GetOnlyNotice) {
		t.Errorf("entry = %+v", e)
	}
	if src.refused() == 0 {
		t.Error("the listing was never tried")
	}
}
