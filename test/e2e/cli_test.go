//go:build linux

package e2e

import (
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
