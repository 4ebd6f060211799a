//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/emulator"
)

func TestReloadHook(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "hookvault")
	v1 := e.create(t, "hookvault", "web", emulator.CertificateSpec{})
	b := newBox(t)
	record := filepath.Join(b.dir, "hook.out")
	link := filepath.Join(b.store, "hookvault.web")
	// The hook records its AKVVM_* environment and where the link points
	// while it runs.
	script := `env | grep '^AKVVM_' | sort > "$0"; echo "LINK=$(readlink "$1")" >> "$0"`
	settings := func(cmd ...string) {
		b.writeSettings(t, e, map[string]any{"url": "https://hookvault.vault.azure.net/secrets/web", "reloadCommand": cmd})
	}
	settings("/bin/sh", "-c", script, record, link)
	hookEnv := func() map[string]string {
		t.Helper()
		data, err := os.ReadFile(record)
		if err != nil {
			t.Fatalf("the reload command did not run: %v", err)
		}
		env := map[string]string{}
		for line := range strings.Lines(string(data)) {
			k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
			env[k] = v
		}
		return env
	}

	if out, code := b.sync(t, e); code != 0 {
		t.Fatalf("sync exit %d:\n%s", code, out)
	}
	env := hookEnv()
	want := map[string]string{
		"AKVVM_VAULT": "hookvault", "AKVVM_CERTIFICATE": "web", "AKVVM_VERSION": v1.Version,
		"AKVVM_THUMBPRINT": v1.Thumbprint, "LINK": filepath.Join(b.store, "hookvault.web."+v1.Version),
	}
	for k, v := range want {
		if !strings.EqualFold(env[k], v) {
			t.Errorf("first install: hook saw %s=%q, want %q", k, env[k], v)
		}
	}
	if _, ok := env["AKVVM_PREVIOUS_VERSION"]; ok {
		t.Errorf("first install: hook saw a previous version %q", env["AKVVM_PREVIOUS_VERSION"])
	}

	// No new version, no hook.
	if err := os.Remove(record); err != nil {
		t.Fatal(err)
	}
	if out, code := b.sync(t, e); code != 0 {
		t.Fatalf("sync exit %d:\n%s", code, out)
	}
	if _, err := os.Stat(record); !os.IsNotExist(err) {
		t.Errorf("the reload command ran without a new version (stat: %v)", err)
	}

	nextSecond()
	v2 := e.rotate(t, "hookvault", "web")
	if out, code := b.sync(t, e); code != 0 {
		t.Fatalf("sync exit %d:\n%s", code, out)
	}
	env = hookEnv()
	if env["AKVVM_VERSION"] != v2.Version || env["AKVVM_PREVIOUS_VERSION"] != v1.Version ||
		env["LINK"] != filepath.Join(b.store, "hookvault.web."+v2.Version) {
		t.Errorf("renewal: hook saw version %s, previous %s, link %s; want %s, %s and the link already on the new version",
			env["AKVVM_VERSION"], env["AKVVM_PREVIOUS_VERSION"], env["LINK"], v2.Version, v1.Version)
	}
	if c := certStatus(t, b.status(t), "hookvault/web"); c.HookError != "" {
		t.Errorf("status reports a hook error after a successful hook: %s", c.HookError)
	}

	// A failing hook is reported; the new version stays installed.
	settings("/bin/sh", "-c", "echo reload broke >&2; exit 3")
	nextSecond()
	v3 := e.rotate(t, "hookvault", "web")
	if out, code := b.sync(t, e); code != exitStale || !strings.Contains(out, "the reload command failed for 1 of them") {
		t.Errorf("sync with a failing hook: exit %d, want %d (installed, but the reload failed):\n%s", code, exitStale, out)
	}
	if got := b.link(t, "hookvault.web"); got != "hookvault.web."+v3.Version {
		t.Errorf("after a failing hook the link points at %s, want the new version %s", got, v3.Version)
	}
	c := certStatus(t, b.status(t), "hookvault/web")
	if c.InstalledVersion != v3.Version || !contains(c.HookError, "reload broke", "exit status 3") {
		t.Errorf("status after a failing hook: installed %s, hook error %q", c.InstalledVersion, c.HookError)
	}
}
