//go:build linux

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/emulator"
	"github.com/akvvm/akvvm/internal/handler"
)

// TestSyncNowHandlerForceUpdateTag re-enables with a new sequence number
// and the same settings (Azure's forceUpdateTag): the running service,
// polling hourly on a real clock, checks at once and reports for the new
// sequence number, without a restart.
func TestSyncNowHandlerForceUpdateTag(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "tagvault")
	first := e.create(t, "tagvault", "web", emulator.CertificateSpec{DNSNames: []string{"web.example.com"}})
	// A short root: the control socket's path must fit a socket address.
	root, err := os.MkdirTemp("", "akvvm-tag")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	g := newGuestAgentIn(t, root, "3.0.7")
	public := map[string]any{
		"secretsManagementSettings": map[string]any{"pollingIntervalInS": "3600", "requireInitialSync": true,
			"observedCertificates": []any{map[string]any{"url": "https://tagvault.vault.azure.net/secrets/web",
				"certificateStoreLocation": filepath.Join(root, "store")}}},
		"authenticationSettings": map[string]any{"msiEndpoint": e.ready.IMDSEndpoint},
	}
	if out, code := g.run(t, "install", -1); code != 0 {
		t.Fatalf("install: exit %d\n%s", code, out)
	}
	g.writeSettings(t, 0, public)
	if out, code := g.run(t, "enable", 0); code != 0 {
		t.Fatalf("enable 0: exit %d\n%s", code, out)
	}
	out := startUnscaledService(t, g, e)
	g.waitStatus(t, 0, handler.StatusSuccess)
	agentStatus := filepath.Join(g.dir, "state", handler.AgentStatusFile)
	installed := func() string {
		s, err := agent.ReadStatusFile(agentStatus)
		if err != nil || len(s.Certificates) != 1 {
			return ""
		}
		return s.Certificates[0].InstalledVersion
	}
	if v := installed(); v != first.Version {
		t.Fatalf("installed %q, want %s", v, first.Version)
	}

	nextSecond()
	second := e.rotate(t, "tagvault", "web")
	asked := time.Now()
	g.writeSettings(t, 1, public)
	if o, code := g.run(t, "enable", 1); code != 0 {
		t.Fatalf("enable 1: exit %d\n%s", code, o)
	}
	st := g.waitStatus(t, 1, handler.StatusSuccess)
	took := time.Since(asked)
	if v := installed(); v != second.Version {
		t.Fatalf("after the re-enable: installed %q, want %s; 1.status: %s", v, second.Version, st.Status.FormattedMessage.Message)
	}
	t.Logf("re-enable with the same settings: %s installed and 1.status success %v after enable started", second.Version, took.Round(time.Millisecond))
	if took > 30*time.Second {
		t.Errorf("the re-enable took %v to install the rotated version, want at most 30 s", took)
	}
	if !strings.Contains(out.String(), "reporting for the new sequence number") {
		t.Errorf("the service did not take over the new sequence number:\n%s", out.String())
	}
	if n := strings.Count(out.String(), "service started"); n != 1 {
		t.Errorf("the service started %d times, want once (no restart)", n)
	}
}

// startUnscaledService runs the handler's service on the real clock, as
// systemd would (the manual service manager restarts nothing).
func startUnscaledService(t *testing.T, g *guestAgent, e *emu) *lockedBuffer {
	t.Helper()
	cmd := exec.Command(filepath.Join(g.dir, "bin", "akvvm"), append([]string{"handler", "service"}, e.agentArgs()...)...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		if err := cmd.Wait(); err != nil {
			t.Errorf("service did not stop cleanly: %v", err)
		}
		if t.Failed() {
			t.Logf("service output:\n%s", out.String())
		}
	})
	return out
}
