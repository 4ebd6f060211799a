package handler

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const testUnit = "[Service]\nExecStart=@BINARY@ handler service\n"

// recorder is a Runner that records systemctl calls.
type recorder struct {
	calls []string
	fail  string // a call that fails
}

func (r *recorder) run(_ context.Context, name string, args ...string) ([]byte, error) {
	call := name + " " + strings.Join(args, " ")
	r.calls = append(r.calls, call)
	if call == r.fail {
		return []byte("Unit akvvm_service.service not loaded."), errors.New("exit status 5")
	}
	return nil, nil
}

func TestSystemdInstallAndUninstall(t *testing.T) {
	dir := tempDir(t)
	rec := &recorder{}
	s := Systemd{UnitDir: dir, Unit: testUnit, Run: rec.run}
	ctx := context.Background()
	if err := s.Install(ctx, "/var/lib/waagent/Microsoft.Azure.KeyVault.KeyVaultForLinux-3.0.1/bin/akvvm"); err != nil {
		t.Fatal(err)
	}
	unit, err := os.ReadFile(filepath.Join(dir, "akvvm_service.service"))
	if err != nil || !strings.Contains(string(unit), "ExecStart=/var/lib/waagent/Microsoft.Azure.KeyVault.KeyVaultForLinux-3.0.1/bin/akvvm handler service") {
		t.Fatalf("unit = %s, %v", unit, err)
	}
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Uninstall(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "akvvm_service.service")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("unit file left behind: %v", err)
	}
	// Install does not enable the unit at boot; enable (Restart) does and
	// disable (Stop) undoes it, so a disabled extension stays stopped
	// across reboots.
	want := []string{
		"systemctl daemon-reload",
		"systemctl enable akvvm_service.service", "systemctl restart akvvm_service.service",
		"systemctl disable akvvm_service.service", "systemctl stop akvvm_service.service",
		"systemctl stop akvvm_service.service", "systemctl disable akvvm_service.service", "systemctl daemon-reload",
	}
	if !slices.Equal(rec.calls, want) {
		t.Errorf("calls:\n%v\nwant\n%v", rec.calls, want)
	}
	// Uninstalling what is not installed succeeds without calling systemctl.
	rec.calls = nil
	if err := s.Uninstall(ctx); err != nil || len(rec.calls) != 0 {
		t.Errorf("second uninstall: %v, calls %v", err, rec.calls)
	}
}

func TestSystemdErrorsNameTheCommandAndItsOutput(t *testing.T) {
	rec := &recorder{fail: "systemctl restart akvvm_service.service"}
	s := Systemd{UnitDir: tempDir(t), Unit: testUnit, Run: rec.run}
	err := s.Restart(context.Background())
	if err == nil || !strings.Contains(err.Error(), "systemctl restart") || !strings.Contains(err.Error(), "not loaded") || !strings.Contains(err.Error(), "journalctl -u") {
		t.Errorf("error = %v", err)
	}
}

func TestRenderUnitRejectsUnsafePaths(t *testing.T) {
	for _, bin := range []string{"bin/akvvm", "/a b/\"x", "/a/%h", "/a/$X", "/a\n/b"} {
		if _, err := RenderUnit(testUnit, bin); err == nil {
			t.Errorf("RenderUnit(%q) accepted", bin)
		}
	}
	if _, err := RenderUnit("[Service]\n", "/bin/akvvm"); err == nil {
		t.Error("a template without @BINARY@ accepted")
	}
}

// A unit that cannot be disabled is still stopped, and the error names
// the failed call.
func TestSystemdStopStopsWhenDisableFails(t *testing.T) {
	rec := &recorder{fail: "systemctl disable akvvm_service.service"}
	s := Systemd{UnitDir: tempDir(t), Unit: testUnit, Run: rec.run}
	err := s.Stop(context.Background())
	if err == nil || !strings.Contains(err.Error(), "systemctl disable") {
		t.Errorf("Stop = %v, want the disable failure", err)
	}
	if !slices.Contains(rec.calls, "systemctl stop akvvm_service.service") {
		t.Errorf("calls = %v: the unit was not stopped", rec.calls)
	}
}

// Without a service manager every command fails with the reason, which
// callers match as ErrNoServiceManager.
func TestUnavailableFailsEveryCallWithTheReason(t *testing.T) {
	u := Unavailable{Reason: "systemd is not running: set AKVVM_SERVICE_MANAGER=manual"}
	ctx := context.Background()
	for name, err := range map[string]error{
		"install": u.Install(ctx, "/bin/akvvm"), "restart": u.Restart(ctx), "stop": u.Stop(ctx), "uninstall": u.Uninstall(ctx),
	} {
		if !errors.Is(err, ErrNoServiceManager) || !strings.Contains(err.Error(), "AKVVM_SERVICE_MANAGER=manual") {
			t.Errorf("%s = %v", name, err)
		}
	}
}
