//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/emulator"
)

// TestSyncNowPicksUpRotation asks an akvvm run that polls hourly to check
// at once: the rotated version is installed when the command returns, and
// it prints the result of sync --once with its exit code. A second --now
// while one runs joins it.
func TestSyncNowPicksUpRotation(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "nowvault")
	first := e.create(t, "nowvault", "web", emulator.CertificateSpec{DNSNames: []string{"web.example.com"}})
	b := newBox(t)
	b.writeSettingsWith(t, e, map[string]any{"pollingIntervalInS": "3600"}, nil,
		map[string]any{"url": "https://nowvault.vault.azure.net/secrets/web"})
	d := b.startRun(t, e)
	b.waitInstalled(t, "nowvault/web", first.Version)
	waitFor(t, "the control socket", func() (bool, string) {
		fi, err := os.Lstat(filepath.Join(b.state, "akvvm.sock"))
		if err != nil {
			return false, err.Error()
		}
		return fi.Mode()&os.ModeSocket != 0 && fi.Mode().Perm() == 0o600, fi.Mode().String()
	})

	nextSecond()
	second := e.rotate(t, "nowvault", "web")
	asked := time.Now()
	var wg sync.WaitGroup
	outs, codes := make([]string, 2), make([]int, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], codes[i] = akvvm(t, "sync", "--now", "--state-dir", b.state)
		}()
	}
	wg.Wait()
	took := time.Since(asked)
	s, err := b.statusFile()
	if err != nil {
		t.Fatal(err)
	}
	if c := certStatus(t, s, "nowvault/web"); c.InstalledVersion != second.Version {
		t.Fatalf("after sync --now returned: installed %s, want %s", c.InstalledVersion, second.Version)
	}
	t.Logf("sync --now: rotated version installed %v after the command started; its output:\n%s", took.Round(time.Millisecond), outs[0])
	if took > 30*time.Second {
		t.Errorf("sync --now took %v, want at most 30 s", took)
	}
	for i := range 2 {
		if codes[i] != 0 || !strings.Contains(outs[i], "Result: all 1 certificates installed and current (exit 0)") ||
			!strings.Contains(outs[i], second.Version[:8]) {
			t.Errorf("sync --now #%d exit %d, output:\n%s", i+1, codes[i], outs[i])
		}
	}
	if got := b.link(t, "nowvault.web"); got != "nowvault.web."+second.Version {
		t.Errorf("link points at %s, want %s", got, second.Version)
	}
	if n := strings.Count(d.out.String(), "checking every certificate now"); n < 1 || n > 2 {
		t.Errorf("the service ran %d passes for two --now calls, want 1 (joined) or 2", n)
	}

	d.stop(t)
	if _, err := os.Lstat(filepath.Join(b.state, "akvvm.sock")); !os.IsNotExist(err) {
		t.Errorf("the control socket stays after akvvm run stopped: %v", err)
	}
	out, code := akvvm(t, "sync", "--now", "--state-dir", b.state)
	if code != 1 || !strings.Contains(out, "no running akvvm service uses state directory "+b.state+" (is it started? give --state-dir)") {
		t.Errorf("sync --now without a service: exit %d, output:\n%s", code, out)
	}
}
