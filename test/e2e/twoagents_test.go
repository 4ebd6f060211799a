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

// TestTwoAgentsOnOneStoreInstallOnce runs two agents (a service and a
// manual sync, say) on one store at the same moment: both download the new
// version, but only the first installs it, logs it and runs the reload
// command; the second finds it installed and current and does nothing.
func TestTwoAgentsOnOneStoreInstallOnce(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "twovault")
	v1 := e.create(t, "twovault", "web", emulator.CertificateSpec{})
	b := newBox(t)
	runs := filepath.Join(b.dir, "hook.runs")
	b.writeSettings(t, e, map[string]any{"url": "https://twovault.vault.azure.net/secrets/web",
		"reloadCommand": []string{"/bin/sh", "-c", `echo "$AKVVM_VERSION" >> "$0"`, runs}})
	// Both downloads are held for a moment so that the two agents are
	// between planning and installing at the same time.
	e.fault(t, emulator.Fault{Op: emulator.OpGetSecret, Kind: emulator.FaultDelay, Delay: emulator.Duration(time.Second), Count: 2})

	var wg sync.WaitGroup
	outs := make([]string, 2)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := append([]string{"sync", "--once", "--settings", b.settings, "--state-dir", filepath.Join(b.dir, "state"+string(rune('a'+i)))}, e.agentArgs()...)
			out, code := akvvm(t, args...)
			if code != 0 {
				t.Errorf("agent %d: exit %d\n%s", i, code, out)
			}
			outs[i] = out
		}()
	}
	wg.Wait()
	if got := len(e.requests(t, emulator.OpGetSecret)); got != 2 {
		t.Fatalf("%d downloads, want one per agent (the race this test needs did not happen)", got)
	}
	all := outs[0] + outs[1]
	if n := strings.Count(all, `msg="installed new version"`); n != 1 {
		t.Errorf(`"installed new version" logged %d times by the two agents, want once:\n%s`, n, all)
	}
	if !strings.Contains(all, "another akvvm process installed it meanwhile") {
		t.Errorf("the second agent did not say the version was already installed:\n%s", all)
	}
	data, err := os.ReadFile(runs)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(string(data)); len(got) != 1 || !strings.EqualFold(got[0], v1.Version) {
		t.Errorf("reload command ran for %q, want once for %s", got, v1.Version)
	}
	if target := b.link(t, "twovault.web"); filepath.Base(target) != "twovault.web."+v1.Version {
		t.Errorf("link points at %s, want version %s", target, v1.Version)
	}
}
