//go:build linux

package e2e

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/emulator"
)

// TestWindowsSyncNowUnderWine asks an akvvm.exe run that polls hourly,
// under Wine, to check at once through its named pipe: the rotated version
// is in the store when akvvm.exe sync --now returns, which prints the
// result of sync --once. Once the service is gone, sync --now says that no
// service uses the state directory.
func TestWindowsSyncNowUnderWine(t *testing.T) {
	wf := newWinFixture(t, "winnow")
	w, e, vault := wf.w, wf.e, wf.vault
	first := e.create(t, vault, "web", emulator.CertificateSpec{KeyType: "RSA-2048", DNSNames: []string{"web.example.com"}})
	settings := wf.writeSettings(t, "settings-now.json", nil,
		map[string]any{"url": "https://" + vault + ".vault.azure.net/secrets/web", "certificateStoreName": "MY",
			"certificateStoreLocation": "LocalMachine"})
	state := winPath(filepath.Join(w.dir, "state-now"))
	svc := w.start(t, "service", nil, w.akvvm, "run", "--settings", winPath(settings), "--state-dir", state,
		"--connect-to", "*.vault.azure.net="+e.ready.HTTPSAddr, "--ca-file", winPath(e.ready.CAFile),
		"--extra-roots", winPath(e.ready.CAFile))
	svc.waitFor(t, regexp.MustCompile(`msg="installed new version"`), 90*time.Second)
	if got := w.dumpStores(t).versions("LocalMachine", "MY", vault, "web"); len(got) != 1 {
		t.Fatalf("LocalMachine\\MY holds %d versions of web after the first pass, want 1 (%s)", len(got), first.Version)
	}

	nextSecond()
	second := e.rotate(t, vault, "web")
	asked := time.Now()
	out, errOut, code := w.run(t, w.akvvm, "sync", "--now", "--state-dir", state)
	took := time.Since(asked)
	if code != 0 || !strings.Contains(out, "Result: all 1 certificates installed and current (exit 0)") || !strings.Contains(out, second.Version[:8]) {
		t.Fatalf("akvvm.exe sync --now: exit %d\nstdout:\n%s\nstderr:\n%s\nservice:\n%s", code, out, errOut, svc.stderr())
	}
	t.Logf("sync --now under Wine took %v; its output:\n%s", took.Round(time.Millisecond), out)
	if _, ok := w.dumpStores(t).find("LocalMachine", "MY", second.Thumbprint); !ok {
		t.Errorf("the rotated version %s is not in LocalMachine\\MY after sync --now returned", second.Thumbprint)
	}
	if !strings.Contains(svc.stdout()+svc.stderr(), "akvvm sync --now asked for an immediate pass") {
		t.Errorf("the service did not log the request:\n%s", svc.stderr())
	}

	svc.cancel()
	<-svc.done
	out, errOut, code = w.run(t, w.akvvm, "sync", "--now", "--state-dir", state)
	if code != 1 || !strings.Contains(errOut, "no running akvvm service uses state directory "+state) {
		t.Errorf("akvvm.exe sync --now without a service: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}
