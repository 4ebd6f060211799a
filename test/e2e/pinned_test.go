//go:build linux

package e2e

import (
	"testing"

	"github.com/akvvm/akvvm/internal/emulator"
)

// KeyVaultForLinux 3.0 accepts a version-pinned URL (only Windows 4.0
// refuses pins): the agent installs exactly that version, ignores newer
// ones without downloading them, and follows a changed pin.
func TestPinnedVersion(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "pinvault")
	v1 := e.create(t, "pinvault", "web", emulator.CertificateSpec{})
	nextSecond()
	v2 := e.rotate(t, "pinvault", "web")
	b := newBox(t)
	pin := func(v emulator.SecretVersion) {
		b.writeSettings(t, e, map[string]any{"url": "https://pinvault.vault.azure.net/secrets/web/" + v.Version})
	}
	pin(v1)
	if out, code := b.sync(t, e); code != 0 {
		t.Fatalf("sync exit %d:\n%s", code, out)
	}
	if got := b.link(t, "pinvault.web"); got != "pinvault.web."+v1.Version {
		t.Fatalf("link points at %s, want the pinned version %s (newest is %s)", got, v1.Version, v2.Version)
	}

	nextSecond()
	e.rotate(t, "pinvault", "web")
	before := snapshot(t, b.store)
	reset(t, e)
	if out, code := b.sync(t, e); code != 0 {
		t.Fatalf("sync exit %d:\n%s", code, out)
	}
	sameFiles(t, before, snapshot(t, b.store))
	if n := len(e.requests(t, emulator.OpGetSecret)); n != 0 {
		t.Errorf("%d downloads with the pinned version installed, want none", n)
	}
	if c := certStatus(t, b.status(t), "pinvault/web"); c.InstalledVersion != v1.Version || c.LastError != "" {
		t.Errorf("status: %+v, want pinned version %s", c, v1.Version)
	}

	pin(v2)
	reset(t, e)
	if out, code := b.sync(t, e); code != 0 {
		t.Fatalf("sync exit %d:\n%s", code, out)
	}
	if got := b.link(t, "pinvault.web"); got != "pinvault.web."+v2.Version {
		t.Errorf("after re-pinning the link points at %s, want %s", got, v2.Version)
	}
	if got := e.requests(t, emulator.OpGetSecret); len(got) != 1 || got[0].Path != "/secrets/web/"+v2.Version {
		t.Errorf("downloads after re-pinning = %+v, want only version %s", got, v2.Version)
	}
}
