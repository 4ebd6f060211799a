//go:build linux

package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/emulator"
	"github.com/akvvm/akvvm/internal/handler"
)

// standInSystemctl plays systemctl for the handler's real systemd code
// path: it records every call in $FAKE_SYSTEMD/calls, keeps whether the
// unit is enabled ($FAKE_SYSTEMD/enabled), and starts and stops the unit's
// ExecStart (plus the test's routing flags in $FAKE_SYSTEMD_ARGS) as a
// background process whose pid it keeps in $FAKE_SYSTEMD/pid.
const standInSystemctl = `#!/bin/sh
set -f
d="$FAKE_SYSTEMD"
echo "$*" >> "$d/calls"
unit="$AKVVM_TEST_SYSTEMD_UNIT_DIR/akvvm_service.service"
running() {
	[ -f "$d/pid" ] || return 1
	st=$(awk '{print $3}' "/proc/$(cat "$d/pid")/stat" 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ]
}
stop() {
	if running; then
		kill -TERM "$(cat "$d/pid")"
		i=0
		while running; do
			sleep 0.05
			i=$((i+1))
			if [ $i -gt 600 ]; then echo "akvvm_service.service did not stop" >&2; exit 1; fi
		done
	fi
	rm -f "$d/pid"
}
start() {
	exec_start=$(sed -n 's/^ExecStart=//p' "$unit" 2>/dev/null)
	if [ -z "$exec_start" ]; then echo "Unit akvvm_service.service not found." >&2; exit 5; fi
	$exec_start $FAKE_SYSTEMD_ARGS >>"$d/service.out" 2>&1 </dev/null &
	echo $! > "$d/pid"
}
case "$1" in
daemon-reload) ;;
enable)
	if [ ! -f "$unit" ]; then echo "Unit file akvvm_service.service does not exist." >&2; exit 1; fi
	touch "$d/enabled" ;;
disable) rm -f "$d/enabled" ;;
stop) stop ;;
restart) stop; start ;;
*) echo "stand-in systemctl: unexpected call: $*" >&2; exit 1 ;;
esac
`

// fakeSystemd is the machine's systemd as the handler meets it: the
// stand-in systemctl on PATH and the unit directory install writes to.
type fakeSystemd struct {
	dir, unitDir string
	args         []string // the service's test-only flags
}

func newFakeSystemd(t *testing.T, e *emu) *fakeSystemd {
	t.Helper()
	s := &fakeSystemd{dir: t.TempDir(), unitDir: t.TempDir(),
		args: append([]string{"--test-time-scale", "2000"}, e.agentArgs()...)}
	bin := filepath.Join(s.dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "systemctl"), []byte(standInSystemctl), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.shutdown(t)
		if t.Failed() {
			out, _ := os.ReadFile(filepath.Join(s.dir, "service.out"))
			t.Logf("systemctl calls: %q\nservice output:\n%s", s.calls(t), out)
		}
	})
	return s
}

// env is the environment that makes the handler use systemd through the
// stand-in (TEST ONLY variables, see cmd/akvvm/handler_linux.go).
func (s *fakeSystemd) env() []string {
	return []string{
		"PATH=" + filepath.Join(s.dir, "bin") + ":" + os.Getenv("PATH"),
		"AKVVM_SERVICE_MANAGER=",
		"AKVVM_TEST_SYSTEMD_UNIT_DIR=" + s.unitDir,
		"FAKE_SYSTEMD=" + s.dir,
		"FAKE_SYSTEMD_ARGS=" + strings.Join(s.args, " "),
	}
}

func (s *fakeSystemd) calls(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, "calls"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func (s *fakeSystemd) enabled() bool {
	_, err := os.Stat(filepath.Join(s.dir, "enabled"))
	return err == nil
}

// pid returns the service's pid while its process runs, else 0.
func (s *fakeSystemd) pid() int {
	b, err := os.ReadFile(filepath.Join(s.dir, "pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	if f := strings.Fields(string(stat)); len(f) > 2 && f[2] != "Z" {
		return pid
	}
	return 0
}

// shutdown stops the service as systemd does at shutdown.
func (s *fakeSystemd) shutdown(t *testing.T) {
	t.Helper()
	pid := s.pid()
	if pid == 0 {
		return
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return
	}
	_ = p.Signal(os.Interrupt)
	deadline := time.Now().Add(30 * time.Second)
	for s.pid() != 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if s.pid() != 0 {
		_ = p.Kill()
		t.Errorf("the service did not stop at shutdown")
	}
}

// boot is what systemd does with the unit at boot: nothing unless it is
// enabled; otherwise it starts ExecStart and applies Restart=. See start.
func (s *fakeSystemd) boot(t *testing.T) (started bool, out string, running bool) {
	t.Helper()
	s.shutdown(t)
	if !s.enabled() {
		return false, "", false
	}
	out, running = s.start(t)
	return true, out, running
}

// start starts the unit's ExecStart as systemd would and watches it for
// a few seconds: an exit that the unit's Restart= policy restarts (every
// RestartSec, forever) is a crash loop and fails the test. It returns the
// output of an exited service, or running=true when it still runs.
func (s *fakeSystemd) start(t *testing.T) (out string, running bool) {
	t.Helper()
	unit, err := os.ReadFile(filepath.Join(s.unitDir, handler.UnitName))
	if err != nil {
		t.Fatalf("systemd: no unit: %v", err)
	}
	var execStart, restart string
	for _, line := range strings.Split(string(unit), "\n") {
		if v, ok := strings.CutPrefix(line, "ExecStart="); ok {
			execStart = v
		}
		if v, ok := strings.CutPrefix(line, "Restart="); ok {
			restart = v
		}
	}
	argv := append(strings.Fields(execStart), s.args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if restarts(restart, code) {
			t.Errorf("the service exited with code %d and Restart=%s restarts it every RestartSec: a crash loop\n%s", code, restart, buf.String())
		}
		return buf.String(), false
	case <-time.After(3 * time.Second):
		return "", true
	}
}

// restarts reports whether systemd restarts a service that exited with
// code under the policy (systemd.service(5); no signals here).
func restarts(policy string, code int) bool {
	switch policy {
	case "always":
		return true
	case "on-failure", "on-abnormal", "on-abort", "on-watchdog":
		return code != 0 && policy == "on-failure"
	default:
		return false
	}
}

func heartbeat(t *testing.T, g *guestAgent) (string, string) {
	t.Helper()
	status, msg, err := handler.ReadHeartbeat(g.env.HeartbeatFile)
	if err != nil {
		t.Fatal(err)
	}
	return status, msg
}

// TestHandlerDisableHoldsAcrossReboots drives the real systemd path with
// a stand-in systemctl: after disable the unit is disabled and stopped, a
// reboot starts nothing, and a service started anyway exits at once
// without touching the Disable status or the NotReady heartbeat; enable
// brings it back, also after the next reboot.
func TestHandlerDisableHoldsAcrossReboots(t *testing.T) {
	e, clientID := lifecycleVault(t, "web")
	sd := newFakeSystemd(t, e)
	g := newGuestAgent(t, "3.0.7")
	g.managerEnv = sd.env()
	g.writeSettings(t, 0, map[string]any{
		"secretsManagementSettings": map[string]any{"pollingIntervalInS": "3600", "requireInitialSync": true,
			"observedCertificates": []any{map[string]any{"url": "https://e2evault.vault.azure.net/secrets/web", "certificateStoreLocation": filepath.Join(t.TempDir(), "store")}}},
		"authenticationSettings": map[string]any{"msiEndpoint": e.ready.IMDSEndpoint, "msiClientId": clientID},
	})

	if out, code := g.run(t, "install", 0); code != 0 {
		t.Fatalf("install: exit %d\n%s", code, out)
	}
	if sd.enabled() {
		t.Error("install enabled the unit: a reboot before the first enable would start the service")
	}
	if out, code := g.run(t, "enable", 0); code != 0 {
		t.Fatalf("enable: exit %d\n%s", code, out)
	}
	if !sd.enabled() || sd.pid() == 0 {
		t.Fatalf("after enable: unit enabled %v, service pid %d; calls %q", sd.enabled(), sd.pid(), sd.calls(t))
	}
	g.waitStatus(t, 0, handler.StatusSuccess)
	if status, _ := heartbeat(t, g); status != handler.HeartbeatReady {
		t.Errorf("heartbeat while enabled = %s, want Ready", status)
	}

	if out, code := g.run(t, "disable", -1); code != 0 {
		t.Fatalf("disable: exit %d\n%s", code, out)
	}
	if sd.enabled() || sd.pid() != 0 {
		t.Errorf("after disable: unit enabled %v, service pid %d; calls %q", sd.enabled(), sd.pid(), sd.calls(t))
	}
	disabled, err := os.ReadFile(handler.StatusPath(g.env.StatusFolder, 0))
	if err != nil {
		t.Fatal(err)
	}
	if st := g.status(t, 0); st.Status.Operation != "Disable" || st.Status.Status != handler.StatusSuccess {
		t.Fatalf("after disable: %+v", st.Status)
	}
	if status, msg := heartbeat(t, g); status != handler.HeartbeatNotReady || !strings.Contains(msg, "disabled") {
		t.Errorf("heartbeat after disable = %s %q, want NotReady, disabled", status, msg)
	}
	beat, err := os.ReadFile(g.env.HeartbeatFile)
	if err != nil {
		t.Fatal(err)
	}

	// Reboot: the unit is disabled, so nothing starts.
	if started, _, _ := sd.boot(t); started {
		t.Error("a reboot after disable started the service")
	}
	// Started anyway (by hand, or a unit enabled by an older version): it
	// exits at once with code 0 and says why.
	out, running := sd.start(t)
	if running {
		t.Fatal("a disabled service started and kept running")
	}
	if !strings.Contains(out, "disabled") {
		t.Errorf("the service's exit does not say it is disabled:\n%s", out)
	}
	if now, _ := os.ReadFile(handler.StatusPath(g.env.StatusFolder, 0)); !bytes.Equal(now, disabled) {
		t.Errorf("a start while disabled changed the Disable status:\n%s", now)
	}
	if now, _ := os.ReadFile(g.env.HeartbeatFile); !bytes.Equal(now, beat) {
		t.Errorf("a start while disabled changed the heartbeat:\n%s", now)
	}

	// The guest agent enables again (same goal state): the service runs,
	// and again after a reboot.
	if out, code := g.run(t, "enable", 0); code != 0 {
		t.Fatalf("enable after disable: exit %d\n%s", code, out)
	}
	g.waitStatus(t, 0, handler.StatusSuccess)
	if started, out, running := sd.boot(t); !started || !running {
		t.Fatalf("reboot after enable: started %v, running %v\n%s", started, running, out)
	}
	waitFor(t, "a Ready heartbeat after the reboot", func() (bool, string) {
		status, msg, err := handler.ReadHeartbeat(g.env.HeartbeatFile)
		return err == nil && status == handler.HeartbeatReady, status + " " + msg
	})
	want := []string{"daemon-reload", "enable akvvm_service.service", "restart akvvm_service.service",
		"disable akvvm_service.service", "stop akvvm_service.service",
		"enable akvvm_service.service", "restart akvvm_service.service"}
	if got := sd.calls(t); !slices.Equal(got, want) {
		t.Errorf("systemctl calls = %q, want %q", got, want)
	}
}

// TestHandlerServiceWithoutSettingsExitsCleanly: in no order of install,
// enable and reboot does the service crash-loop. After install, and after
// an enable with invalid settings, the unit is not enabled; a service
// started anyway exits with code 0 (which the unit does not restart) and
// leaves the error status of the invalid settings as it is.
func TestHandlerServiceWithoutSettingsExitsCleanly(t *testing.T) {
	e := startEmulator(t, "e2evault")
	sd := newFakeSystemd(t, e)
	g := newGuestAgent(t, "3.0.7")
	g.managerEnv = sd.env()
	if out, code := g.run(t, "install", -1); code != 0 {
		t.Fatalf("install: exit %d\n%s", code, out)
	}
	if started, _, _ := sd.boot(t); started {
		t.Error("a reboot right after install started the service")
	}
	if _, running := sd.start(t); running {
		t.Error("a service started before any enable keeps running")
	}
	// An older install left no stopped marker: no settings is enough.
	if err := os.Remove(filepath.Join(g.dir, "state", "stopped")); err != nil {
		t.Fatal(err)
	}
	out, running := sd.start(t)
	if running || !strings.Contains(out, "no settings") {
		t.Errorf("a service without state/service.json: running %v\n%s", running, out)
	}

	// Every enable so far had invalid settings.
	g.writeSettings(t, 0, map[string]any{"secretsManagementSettings": map[string]any{
		"observedCertificates": []any{"https://e2evault.vault.azure.net/certificates/web"}}})
	if out, code := g.run(t, "enable", 0); code != 1 {
		t.Fatalf("enable with invalid settings: exit %d, want 1\n%s", code, out)
	}
	invalid, err := os.ReadFile(handler.StatusPath(g.env.StatusFolder, 0))
	if err != nil || !bytes.Contains(invalid, []byte(`"error"`)) {
		t.Fatalf("0.status after invalid settings: %s, %v", invalid, err)
	}
	if started, _, _ := sd.boot(t); started {
		t.Error("a reboot after an invalid enable started the service")
	}
	for i := 0; i < 2; i++ {
		if _, running := sd.start(t); running {
			t.Fatal("a service without valid settings keeps running")
		}
	}
	if now, _ := os.ReadFile(handler.StatusPath(g.env.StatusFolder, 0)); !bytes.Equal(now, invalid) {
		t.Errorf("a service start overwrote the invalid-settings status:\n%s\nwas\n%s", now, invalid)
	}
	if slices.Contains(sd.calls(t), "enable akvvm_service.service") {
		t.Errorf("the unit was enabled without valid settings: %q", sd.calls(t))
	}
}

// TestHandlerUninstallRemovesCertificatesDroppedEarlier: with
// removeCertificatesOnUninstall, uninstall removes a certificate that
// earlier settings named and later ones dropped, private key included,
// besides the current one.
func TestHandlerUninstallRemovesCertificatesDroppedEarlier(t *testing.T) {
	e, clientID := lifecycleVault(t, "web", "api")
	store := filepath.Join(t.TempDir(), "store")
	apiStore := filepath.Join(t.TempDir(), "api-store")
	if err := os.MkdirAll(store, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(store, "app.pem"), []byte("not akvvm's"), 0o600); err != nil {
		t.Fatal(err)
	}
	settings := func(apiToo bool) map[string]any {
		certs := []any{map[string]any{"url": "https://e2evault.vault.azure.net/secrets/web", "certificateStoreLocation": store}}
		if apiToo {
			certs = append(certs, map[string]any{"url": "https://e2evault.vault.azure.net/secrets/api", "certificateStoreLocation": apiStore})
		}
		return map[string]any{
			"secretsManagementSettings": map[string]any{"pollingIntervalInS": "3600", "requireInitialSync": true,
				"removeCertificatesOnUninstall": true, "observedCertificates": certs},
			"authenticationSettings": map[string]any{"msiEndpoint": e.ready.IMDSEndpoint, "msiClientId": clientID},
		}
	}
	g := newGuestAgent(t, "3.0.7")
	g.writeSettings(t, 0, settings(true))
	for _, op := range []string{"install", "enable"} {
		if out, code := g.run(t, op, 0); code != 0 {
			t.Fatalf("%s: exit %d\n%s", op, code, out)
		}
	}
	stop := g.startService(t, e)
	g.waitStatus(t, 0, handler.StatusSuccess)
	stop()
	apiFiles := dirNames(t, apiStore)
	if !slices.ContainsFunc(apiFiles, func(n string) bool { return strings.HasPrefix(n, "e2evault.api.") }) {
		t.Fatalf("api not installed: %v", apiFiles)
	}
	// seq 1 drops api.
	g.writeSettings(t, 1, settings(false))
	if out, code := g.run(t, "enable", 1); code != 0 {
		t.Fatalf("enable 1: exit %d\n%s", code, out)
	}
	stop = g.startService(t, e)
	g.waitStatus(t, 1, handler.StatusSuccess)
	stop()
	for _, op := range []string{"disable", "uninstall"} {
		if out, code := g.run(t, op, -1); code != 0 {
			t.Fatalf("%s: exit %d\n%s", op, code, out)
		}
	}
	if got := dirNames(t, store); !slices.Equal(got, []string{"app.pem"}) {
		t.Errorf("store after uninstall = %v, want only the file akvvm did not write", got)
	}
	if got := dirNames(t, apiStore); len(got) != 0 {
		t.Errorf("the dropped certificate's store after uninstall = %v, want nothing of akvvm's left", got)
	}
}

// TestHandlerWithoutSystemdWritesAnErrorStatus: on Linux without systemd
// (and AKVVM_SERVICE_MANAGER unset) every command fails with exit 1, and
// install, enable and disable write an error status that says what to do.
func TestHandlerWithoutSystemdWritesAnErrorStatus(t *testing.T) {
	if handler.SystemdRunning() {
		t.Skip("this machine runs systemd")
	}
	g := newGuestAgent(t, "3.0.7")
	g.managerEnv = []string{"AKVVM_SERVICE_MANAGER="}
	g.writeSettings(t, 0, map[string]any{"secretsManagementSettings": map[string]any{
		"pollingIntervalInS": "3600", "observedCertificates": []any{"https://e2evault.vault.azure.net/secrets/web"}}})
	for _, c := range []struct{ cmd, op string }{{"install", "Install"}, {"enable", "Enable"}, {"disable", "Disable"}, {"uninstall", ""}} {
		out, code := g.run(t, c.cmd, 0)
		if code != 1 || !strings.Contains(out, "AKVVM_SERVICE_MANAGER=manual") || !strings.Contains(out, "systemd is not running") {
			t.Errorf("%s: exit %d, want 1 with what to do:\n%s", c.cmd, code, out)
		}
		if c.op == "" {
			continue
		}
		st := g.status(t, 0)
		if st.Status.Operation != c.op || st.Status.Status != handler.StatusError ||
			!strings.Contains(st.Status.FormattedMessage.Message, "AKVVM_SERVICE_MANAGER=manual") {
			t.Errorf("0.status after %s = %+v", c.cmd, st.Status)
		}
	}
}

// TestHandlerUpdateKeepsTheOldVersionDisabled plays a 3.0.7 → 3.0.8 update
// as the guest agent runs it (old disable, copy of mrseq and status files,
// new update, old uninstall, new install, new enable) with the stand-in
// systemctl: a reboot after the old version's disable starts nothing, the
// old uninstall keeps the certificates (removeCertificatesOnUninstall) for
// the new version, whose service then runs, also after a reboot.
func TestHandlerUpdateKeepsTheOldVersionDisabled(t *testing.T) {
	e, clientID := lifecycleVault(t, "web")
	store := filepath.Join(t.TempDir(), "store")
	sd := newFakeSystemd(t, e)
	root := t.TempDir()
	old := newGuestAgentIn(t, root, "3.0.7")
	old.managerEnv = sd.env()
	settings := map[string]any{
		"secretsManagementSettings": map[string]any{"pollingIntervalInS": "3600", "requireInitialSync": true, "removeCertificatesOnUninstall": true,
			"observedCertificates": []any{map[string]any{"url": "https://e2evault.vault.azure.net/secrets/web", "certificateStoreLocation": store}}},
		"authenticationSettings": map[string]any{"msiEndpoint": e.ready.IMDSEndpoint, "msiClientId": clientID},
	}
	old.writeSettings(t, 3, settings)
	for _, op := range []string{"install", "enable"} {
		if out, code := old.run(t, op, 3); code != 0 {
			t.Fatalf("3.0.7 %s: exit %d\n%s", op, code, out)
		}
	}
	old.waitStatus(t, 3, handler.StatusSuccess)

	// The update starts with the old version's disable; the machine
	// reboots before the rest.
	if out, code := old.run(t, "disable", -1); code != 0 {
		t.Fatalf("3.0.7 disable: exit %d\n%s", code, out)
	}
	if started, _, _ := sd.boot(t); started {
		t.Fatal("a reboot after the old version's disable started its service")
	}

	g := newGuestAgentIn(t, root, "3.0.8")
	g.managerEnv = sd.env()
	g.writeSettings(t, 3, settings)
	copyFile(t, filepath.Join(old.dir, "mrseq"), filepath.Join(g.dir, "mrseq"))
	copyFile(t, handler.StatusPath(old.env.StatusFolder, 3), handler.StatusPath(g.env.StatusFolder, 3))
	g.managerEnv = append(sd.env(), handler.UpdatingFromEnv+"=3.0.7")
	if out, code := g.run(t, "update", 3); code != 0 {
		t.Fatalf("3.0.8 update: exit %d\n%s", code, out)
	}
	g.managerEnv = sd.env()
	if out, code := old.run(t, "uninstall", -1); code != 0 {
		t.Fatalf("3.0.7 uninstall: exit %d\n%s", code, out)
	}
	if _, err := os.Readlink(filepath.Join(store, "e2evault.web")); err != nil {
		t.Fatalf("the old version's uninstall during the update removed the certificate: %v", err)
	}
	if err := os.RemoveAll(old.dir); err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"install", "enable"} {
		if out, code := g.run(t, op, 3); code != 0 {
			t.Fatalf("3.0.8 %s: exit %d\n%s", op, code, out)
		}
	}
	if st := g.waitStatus(t, 3, handler.StatusSuccess); st.Status.Operation != "Enable" {
		t.Errorf("3.status after the new version's enable: %+v", st.Status)
	}
	unit, err := os.ReadFile(filepath.Join(sd.unitDir, handler.UnitName))
	if err != nil || !strings.Contains(string(unit), filepath.Join(g.dir, "bin", "akvvm")) {
		t.Errorf("unit after the update = %s, %v; want the new version's binary", unit, err)
	}
	if started, out, running := sd.boot(t); !started || !running {
		t.Fatalf("reboot after the update: started %v, running %v\n%s", started, running, out)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// lifecycleVault starts an emulator with the vault e2evault holding the
// named certificates, and a user-assigned identity it returns.
func lifecycleVault(t *testing.T, names ...string) (*emu, string) {
	t.Helper()
	e := startEmulator(t, "e2evault")
	const clientID = "8d3a0f61-5c2e-4f7b-9a41-2b6c0e9d7f10"
	if err := e.admin.AddIdentity(t.Context(), clientID); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if _, err := e.admin.CreateCertificate(t.Context(), "e2evault", name, emulator.CertificateSpec{DNSNames: []string{name + ".example.com"}}); err != nil {
			t.Fatal(err)
		}
	}
	return e, clientID
}
