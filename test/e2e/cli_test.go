//go:build linux

package e2e

import (
	"os"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/emulator"
)

func TestSyncExitCodeWhileCertificateMissing(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "exitvault")
	web := e.create(t, "exitvault", "web", emulator.CertificateSpec{})
	b := newBox(t)
	b.writeSettings(t, e,
		map[string]any{"url": "https://exitvault.vault.azure.net/secrets/web"},
		map[string]any{"url": "https://exitvault.vault.azure.net/secrets/later"})
	out, code := b.sync(t, e)
	if code != 1 {
		t.Fatalf("sync with a missing certificate: exit %d, want 1:\n%s", code, out)
	}
	s := b.status(t)
	if s.Phase != agent.Transitioning {
		t.Errorf("phase %q, want transitioning while the initial sync waits: %s", s.Phase, s.Message)
	}
	if c := certStatus(t, s, "exitvault/web"); c.InstalledVersion != web.Version {
		t.Errorf("the present certificate was not installed: %+v", c)
	}
	if c := certStatus(t, s, "exitvault/later"); c.Installed() || c.HTTPStatus != 404 || c.ErrorCode != "SecretNotFound" {
		t.Errorf("missing certificate status: installed %q, HTTP %d %q, error %q", c.InstalledVersion, c.HTTPStatus, c.ErrorCode, c.LastError)
	}

	later := e.create(t, "exitvault", "later", emulator.CertificateSpec{})
	if out, code := b.sync(t, e); code != 0 {
		t.Fatalf("sync with every certificate present: exit %d, want 0:\n%s", code, out)
	}
	s = b.status(t)
	if c := certStatus(t, s, "exitvault/later"); s.Phase != agent.Success || c.InstalledVersion != later.Version {
		t.Errorf("after creating the certificate: phase %q, %+v", s.Phase, c)
	}
}

func TestDemoRunsAndExits(t *testing.T) {
	t.Parallel()
	out, code := akvvm(t, "demo")
	if code != 0 {
		t.Fatalf("akvvm demo: exit %d:\n%s", code, out)
	}
	for _, want := range []string{"renewal installed", "rolled back", "withdrawn in the vault", "Demo finished"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "PRIVATE KEY") {
		t.Errorf("demo output shows key material")
	}
}

// TestSyncExitCodesTellScriptsWhatHappened: 0 all current, 1 not installed,
// 2 invalid settings, 3 installed but this pass failed.
func TestSyncExitCodesTellScriptsWhatHappened(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "codevault")
	b := newBox(t)
	// 3.0 without requireInitialSync: the agent's phase is "success" even
	// when nothing is installed, which is why the exit code cannot follow it.
	b.writeSettingsWith(t, e, map[string]any{"requireInitialSync": false}, nil,
		map[string]any{"url": "https://codevault.vault.azure.net/secrets/web"})
	out, code := b.sync(t, e)
	if code != exitNotInstalled || !strings.Contains(out, "Result: 1 of 1 certificates not installed: codevault/web (exit 1)") {
		t.Errorf("nothing installed: exit %d, want 1 with a result line:\n%s", code, out)
	}
	if strings.Contains(out, "polling started") {
		t.Errorf("sync --once says polling started:\n%s", out)
	}

	e.create(t, "codevault", "web", emulator.CertificateSpec{})
	if out, code := b.sync(t, e); code != exitAllCurrent || !strings.Contains(out, "Result: all 1 certificates installed and current (exit 0)") {
		t.Errorf("installed: exit %d, want 0:\n%s", code, out)
	}

	// Every request of the next pass fails; the installed version stays.
	e.fault(t, emulator.Fault{Op: emulator.OpListVersions, Kind: emulator.FaultStatus, Status: 503})
	out, code = b.sync(t, e)
	if code != exitStale || !strings.Contains(out, "this pass failed for 1 of them") || !strings.Contains(out, "(exit 3)") {
		t.Errorf("pass failed with the certificate installed: exit %d, want 3:\n%s", code, out)
	}
	if c := certStatus(t, b.status(t), "codevault/web"); !c.Installed() || c.HTTPStatus != 503 {
		t.Errorf("status after the failed pass: %+v", c)
	}

	if err := os.WriteFile(b.settings, []byte(`{"secretsManagementSettings": {"pollingIntervalInS": "soon"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code = b.sync(t, e)
	if code != exitInvalidSettings || !strings.Contains(out, "pollingIntervalInS") {
		t.Errorf("invalid settings: exit %d, want 2 naming the field:\n%s", code, out)
	}
}

// The exit codes of sync --once, as documented in its help.
const (
	exitAllCurrent      = 0
	exitNotInstalled    = 1
	exitInvalidSettings = 2
	exitStale           = 3
)
