//go:build linux

package e2e

import (
	"maps"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/emulator"
)

// A restarted agent knows what is installed: it lists versions (metadata
// only), downloads nothing and writes nothing until a new version appears.
func TestRestartDoesNotDownloadAgain(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "rstvault")
	first := e.create(t, "rstvault", "web", emulator.CertificateSpec{})
	b := newBox(t)
	b.writeSettings(t, e, map[string]any{"url": "https://rstvault.vault.azure.net/secrets/web"})
	if out, code := b.sync(t, e); code != 0 {
		t.Fatalf("first sync exit %d:\n%s", code, out)
	}
	files, times := snapshot(t, b.store), mtimes(t, b.store)
	unchanged := func(when string) {
		t.Helper()
		sameFiles(t, files, snapshot(t, b.store))
		if got := mtimes(t, b.store); !maps.EqualFunc(times, got, time.Time.Equal) {
			t.Errorf("%s: store entries were rewritten: before %v, after %v", when, times, got)
		}
		if n := len(e.requests(t, emulator.OpGetSecret)); n != 0 {
			t.Errorf("%s: %d secret downloads, want none", when, n)
		}
		if len(e.requests(t, emulator.OpListVersions)) == 0 {
			t.Errorf("%s: the vault was not asked for versions at all", when)
		}
	}

	reset(t, e)
	if out, code := b.sync(t, e); code != 0 {
		t.Fatalf("second sync exit %d:\n%s", code, out)
	}
	unchanged("second sync --once")

	reset(t, e)
	started := time.Now()
	d := b.startRun(t, e)
	waitFor(t, "akvvm run to finish a pass", func() (bool, string) {
		s, err := b.statusFile()
		if err != nil {
			return false, err.Error()
		}
		return s.Updated.After(started) && certStatus(t, s, "rstvault/web").InstalledVersion == first.Version, s.Message
	})
	d.stop(t)
	unchanged("restarted akvvm run")

	// A version added while the agent was stopped is the only download.
	nextSecond()
	second := e.rotate(t, "rstvault", "web")
	reset(t, e)
	d = b.startRun(t, e)
	b.waitInstalled(t, "rstvault/web", second.Version)
	d.stop(t)
	got := e.requests(t, emulator.OpGetSecret)
	if len(got) != 1 || got[0].Path != "/secrets/web/"+second.Version {
		t.Errorf("downloads after restart = %+v, want only version %s", got, second.Version)
	}
}

// reset empties the emulator's request log.
func reset(t *testing.T, e *emu) {
	t.Helper()
	if err := e.admin.ResetLog(t.Context()); err != nil {
		t.Fatal(err)
	}
}
