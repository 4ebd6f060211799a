//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/emulator"
	"github.com/akvvm/akvvm/internal/handler"
)

// TestHandlerStatusAfterRestartShowsWhatIsInstalled restarts the service
// while the vault does not answer: from its first report the guest agent
// reads what the previous run installed, marked as such, not "not checked
// yet", while the first check is still in flight.
func TestHandlerStatusAfterRestartShowsWhatIsInstalled(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "rbvault")
	v := e.create(t, "rbvault", "web", emulator.CertificateSpec{DNSNames: []string{"web.example.com"}})
	g := newGuestAgent(t, "3.0.9")
	if out, code := g.run(t, "install", -1); code != 0 {
		t.Fatalf("install: exit %d\n%s", code, out)
	}
	g.writeSettings(t, 0, map[string]any{
		"secretsManagementSettings": map[string]any{"pollingIntervalInS": "3600", "requireInitialSync": true,
			"observedCertificates": []any{map[string]any{"url": "https://rbvault.vault.azure.net/secrets/web",
				"certificateStoreLocation": filepath.Join(g.dir, "store")}}},
		"authenticationSettings": map[string]any{"msiEndpoint": e.ready.IMDSEndpoint},
	})
	if out, code := g.run(t, "enable", 0); code != 0 {
		t.Fatalf("enable: exit %d\n%s", code, out)
	}
	stop := g.startService(t, e)
	g.waitStatus(t, 0, handler.StatusSuccess)
	stop()

	e.fault(t, emulator.Fault{Op: emulator.OpAny, Vault: "rbvault", Kind: emulator.FaultStall})
	statusFile := filepath.Join(g.env.StatusFolder, "0.status")
	before, err := os.Stat(statusFile)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // a later modification time for the restarted service's report
	g.startService(t, e)
	waitFor(t, "the restarted service's first report", func() (bool, string) {
		fi, err := os.Stat(statusFile)
		return err == nil && fi.ModTime().After(before.ModTime()), "0.status not rewritten"
	})
	st := g.status(t, 0)
	if st.Status.Status != handler.StatusSuccess || len(st.Status.SubStatus) != 1 {
		t.Fatalf("first report after the restart: %+v", st.Status)
	}
	msg := st.Status.SubStatus[0].FormattedMessage.Message
	if !strings.Contains(msg, "installed version "+v.Version) || !strings.Contains(msg, "previous run") || strings.Contains(msg, "not checked yet") {
		t.Errorf("substatus after the restart: %s", msg)
	}
}
