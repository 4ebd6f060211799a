//go:build linux

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/emulator"
	"github.com/akvvm/akvvm/internal/handler"
	"github.com/akvvm/akvvm/packaging"
)

// winGuestAgent plays the Windows guest agent under Wine: the handler
// directory C:\Packages\Plugins\<Publisher.Type>\<version>\ and the log
// folder C:\WindowsAzure\Logs\Plugins\<Publisher.Type>\<version>\ live
// under a Z:\ temporary directory that stands for C:\, and the manifest's
// commands run through "wine cmd /c" in the handler directory. The service
// is the real akvvm_service in the Wine prefix's service control manager.
type winGuestAgent struct {
	w        *wineBox
	dir      string // the handler directory (Linux path)
	version  string
	env      *handler.Environment // Linux paths, for reading back
	manifest packaging.HandlerManifest
	// serviceFlags are the test-only flags install puts on the service's
	// command line (routing to the emulator).
	serviceFlags []string
}

const winExtension = "Microsoft.Azure.KeyVault.KeyVaultForWindows"

func newWinGuestAgent(t *testing.T, w *wineBox, version string, serviceFlags []string) *winGuestAgent {
	t.Helper()
	drive := filepath.Join(w.dir, "C")
	g := &winGuestAgent{w: w, version: version, serviceFlags: serviceFlags,
		dir: filepath.Join(drive, "Packages", "Plugins", winExtension, version)}
	g.env = &handler.Environment{
		Name: winExtension, Dir: g.dir,
		LogFolder:    filepath.Join(drive, "WindowsAzure", "Logs", "Plugins", winExtension, version),
		ConfigFolder: filepath.Join(g.dir, "RuntimeSettings"), StatusFolder: filepath.Join(g.dir, "Status"),
		HeartbeatFile: filepath.Join(g.dir, "Status", "HeartBeat.Json"),
	}
	for _, d := range []string{g.env.ConfigFolder, g.env.StatusFolder, g.env.LogFolder, filepath.Join(g.dir, "bin")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	manifest, err := packaging.Manifest("windows")
	if err != nil {
		t.Fatal(err)
	}
	if g.manifest, err = packaging.CheckManifest(manifest, "windows"); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(w.akvvm)
	if err != nil {
		t.Fatal(err)
	}
	for p, data := range map[string][]byte{"HandlerManifest.json": manifest, filepath.Join("bin", "akvvm.exe"): bin} {
		if err := os.WriteFile(filepath.Join(g.dir, p), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// What the Windows guest agent writes: version as a STRING, Windows
	// paths, and the fields the Linux agent does not write.
	envJSON, err := json.Marshal([]map[string]any{{"name": winExtension, "version": "1", "handlerEnvironment": map[string]string{
		"logFolder": winPath(g.env.LogFolder), "configFolder": winPath(g.env.ConfigFolder),
		"statusFolder": winPath(g.env.StatusFolder), "heartbeatFile": winPath(g.env.HeartbeatFile),
		"deploymentid": "", "rolename": "", "instance": "", "hostResolverAddress": "",
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(g.dir, handler.EnvironmentFile), envJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	return g
}

// run runs one manifest command through "wine cmd /c" in the handler
// directory with the guest agent's environment; seq < 0 leaves
// ConfigSequenceNumber out.
func (g *winGuestAgent) run(t *testing.T, op string, seq int) (string, int) {
	t.Helper()
	h := g.manifest.HandlerManifest
	command := map[string]string{"install": h.InstallCommand, "enable": h.EnableCommand, "disable": h.DisableCommand,
		"uninstall": h.UninstallCommand, "update": h.UpdateCommand}[op]
	flags, err := json.Marshal(g.serviceFlags)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{
		"AZURE_GUEST_AGENT_EXTENSION_PATH=" + winPath(g.dir),
		"AZURE_GUEST_AGENT_EXTENSION_VERSION=" + g.version,
		// TEST ONLY (cmd/akvvm/handler_windows.go): install puts these
		// flags on the service's command line.
		"AKVVM_TEST_SERVICE_FLAGS=" + string(flags),
	}
	if seq >= 0 {
		env = append(env, "ConfigSequenceNumber="+strconv.Itoa(seq))
	}
	out, errOut, code := g.w.runIn(t, g.dir, env, "cmd", "/c", command)
	return out + errOut, code
}

// writeSettings writes <seq>.settings in the RuntimeSettings form.
func (g *winGuestAgent) writeSettings(t *testing.T, seq int, public map[string]any) {
	t.Helper()
	data, err := json.Marshal(map[string]any{"runtimeSettings": []any{map[string]any{"handlerSettings": map[string]any{
		"publicSettings": public, "protectedSettings": nil, "protectedSettingsCertThumbprint": nil}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(handler.SettingsPath(g.env.ConfigFolder, seq), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitStatus waits until <seq>.status satisfies ok and returns it.
func (g *winGuestAgent) waitStatus(t *testing.T, seq int, what string, ok func(handler.StatusItem) bool) handler.StatusItem {
	t.Helper()
	var st handler.StatusItem
	waitFor(t, what, func() (bool, string) {
		var err error
		if st, err = handler.ReadStatus(g.env.StatusFolder, seq); err != nil {
			return false, err.Error()
		}
		if st.Status.Status == handler.StatusError {
			t.Fatalf("%d.status is error: %s", seq, st.Status.FormattedMessage.Message)
		}
		b, _ := json.Marshal(st.Status)
		return ok(st), string(b)
	})
	return st
}

// serviceProcesses returns the command lines of the running processes of
// this handler's service (Wine shows a Windows process's command line in
// /proc).
func (g *winGuestAgent) serviceProcesses(t *testing.T) []string {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	exe := strings.ToLower(winPath(filepath.Join(g.dir, "bin", "akvvm.exe")))
	var found []string
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // gone meanwhile
		}
		cl := strings.ReplaceAll(string(b), "\x00", " ")
		if strings.Contains(strings.ToLower(cl), exe) && strings.Contains(cl, "run-handler") {
			found = append(found, cl)
		}
	}
	return found
}

// Service start types in the registry (the Start value).
const (
	autoStart   = 2
	demandStart = 3
)

// startType returns the Start value of akvvm_service in the registry of
// the Wine prefix's service control manager.
func (g *winGuestAgent) startType(t *testing.T) int {
	t.Helper()
	out, errOut, code := g.w.run(t, "reg", "query", `HKLM\System\CurrentControlSet\Services\`+handler.ServiceName, "/v", "Start")
	if code != 0 {
		t.Fatalf("reg query Start: exit %d\n%s%s", code, out, errOut)
	}
	for _, f := range strings.Fields(out) {
		if v, ok := strings.CutPrefix(f, "0x"); ok {
			n, err := strconv.ParseInt(v, 16, 32)
			if err == nil {
				return int(n)
			}
		}
	}
	t.Fatalf("no Start value in:\n%s", out)
	return 0
}

// serviceRegistered reports whether akvvm_service is in the registry of
// the Wine prefix's service control manager.
func (g *winGuestAgent) serviceRegistered(t *testing.T) (bool, string) {
	t.Helper()
	out, errOut, code := g.w.run(t, "reg", "query", `HKLM\System\CurrentControlSet\Services\`+handler.ServiceName, "/v", "ImagePath")
	return code == 0, out + errOut
}

// TestWindowsHandlerUnderWine drives the Windows package the way the
// Windows guest agent does: install → enable (seq 0, 4.0 settings) →
// transitioning, then success with the certificate's version and
// thumbprint → the certificate in LocalMachine\MY, read back by another
// process → disable (service stopped, demand start, NotReady heartbeat) →
// the service started anyway through the service control manager ends at
// once and leaves the Disable status → enable again (automatic start,
// Ready) → uninstall (service gone).
func TestWindowsHandlerUnderWine(t *testing.T) {
	w := needWine(t)
	vault := "winhandler" + randomHex(t, 4)
	e := startEmulator(t, vault)
	wf := &winFixture{w: w, e: e, vault: vault, root: readRoot(t, e.ready.CAFile)}
	// Key Vault's default policy makes a server-authentication certificate,
	// which 4.0 accepts only with a trusted chain; the emulator's root is
	// trusted nowhere in the prefix (and the service takes no --extra-roots),
	// so this leaf leaves the server-authentication usage out. The chain
	// check itself is covered by TestWindowsStoreUnderWine.
	web := e.create(t, vault, "web", emulator.CertificateSpec{KeyType: "RSA-2048", DNSNames: []string{"web.example.com"}, NoServerAuth: true})

	g := newWinGuestAgent(t, w, "4.0.0.0", []string{
		"--connect-to", "*.vault.azure.net=" + e.ready.HTTPSAddr, "--ca-file", winPath(e.ready.CAFile)})
	uninstalled := false
	t.Cleanup(func() {
		if !uninstalled {
			if out, code := g.run(t, "uninstall", -1); code != 0 {
				t.Errorf("cleanup: uninstall: exit %d\n%s", code, out)
			}
		}
		wf.cleanup(t)
		if t.Failed() {
			for _, f := range []string{"akvvm_handler.log", "akvvm_service.log"} {
				b, _ := os.ReadFile(filepath.Join(g.env.LogFolder, f))
				t.Logf("%s:\n%s", f, b)
			}
		}
	})

	if out, code := g.run(t, "install", -1); code != 0 {
		t.Fatalf("install: exit %d\n%s", code, out)
	}
	if ok, reg := g.serviceRegistered(t); !ok || !strings.Contains(reg, "run-handler") || !strings.Contains(reg, "--connect-to") {
		t.Fatalf("after install akvvm_service is not registered to run akvvm.exe service run-handler with the test flags:\n%s", reg)
	}
	if procs := g.serviceProcesses(t); len(procs) > 0 {
		t.Errorf("install started the service: %v", procs)
	}
	if start := g.startType(t); start != demandStart {
		t.Errorf("after install the service's start type is %#x, want demand start (%#x): a boot before the first enable would start it", start, demandStart)
	}

	// Key Vault answers 503 until the fault is removed: the service keeps
	// retrying, so the status can only be transitioning meanwhile.
	faultID, err := e.admin.AddFault(t.Context(), emulator.Fault{Op: "getSecret", Vault: vault, Kind: emulator.FaultStatus, Status: 503})
	if err != nil {
		t.Fatal(err)
	}
	g.writeSettings(t, 0, map[string]any{
		"secretsManagementSettings": map[string]any{"pollingIntervalInS": "3600", "observedCertificates": []any{map[string]any{
			"url": "https://" + vault + ".vault.azure.net/secrets/web", "certificateStoreName": "MY", "certificateStoreLocation": "LocalMachine"}}},
		"authenticationSettings": map[string]any{"msiEndpoint": e.ready.IMDSEndpoint},
	})
	if out, code := g.run(t, "enable", 0); code != 0 {
		t.Fatalf("enable 0: exit %d\n%s", code, out)
	}
	if st, err := handler.ReadStatus(g.env.StatusFolder, 0); err != nil || st.Status.Status != handler.StatusTransitioning || st.Status.Operation != "Enable" {
		t.Fatalf("right after enable: %+v, %v", st.Status, err)
	}
	// The service itself reports the failed attempt.
	g.waitStatus(t, 0, "a transitioning status naming the failed attempt", func(st handler.StatusItem) bool {
		s := st.Status
		return s.Status == handler.StatusTransitioning && len(s.SubStatus) == 1 &&
			s.SubStatus[0].Status == handler.StatusTransitioning && strings.Contains(s.SubStatus[0].FormattedMessage.Message, "503")
	})
	if procs := g.serviceProcesses(t); len(procs) != 1 {
		t.Errorf("service processes after enable: %v, want one", procs)
	}
	if err := e.admin.RemoveFault(t.Context(), faultID); err != nil {
		t.Fatal(err)
	}
	st := g.waitStatus(t, 0, "success", func(st handler.StatusItem) bool { return st.Status.Status == handler.StatusSuccess })
	if len(st.Status.SubStatus) != 1 {
		t.Fatalf("substatus = %+v", st.Status.SubStatus)
	}
	if sub := st.Status.SubStatus[0]; sub.Status != handler.StatusSuccess || !contains(sub.FormattedMessage.Message,
		"version "+web.Version, "thumbprint "+web.Thumbprint, "expires ") {
		t.Errorf("substatus = %+v", sub)
	}
	hb, err := os.ReadFile(g.env.HeartbeatFile)
	var beat []struct {
		Heartbeat struct{ Status string } `json:"heartbeat"`
	}
	if err != nil || json.Unmarshal(hb, &beat) != nil || len(beat) != 1 || beat[0].Heartbeat.Status != "Ready" {
		t.Errorf("heartbeat file: %s, %v", hb, err)
	}
	// Read back by another Windows process through crypt32.
	wf.checkInstalled(t, w.dumpStores(t), "LocalMachine", "MY", "web", web)
	if start := g.startType(t); start != autoStart {
		t.Errorf("after enable the service's start type is %#x, want automatic (%#x)", start, autoStart)
	}

	// The same goal state again: nothing happens.
	if out, code := g.run(t, "enable", 0); code != 0 || !strings.Contains(out, "already processed") {
		t.Errorf("repeated enable 0: exit %d\n%s", code, out)
	}

	if out, code := g.run(t, "disable", -1); code != 0 {
		t.Fatalf("disable: exit %d\n%s", code, out)
	}
	// The service reports stopped just before its process exits.
	waitFor(t, "the service process to exit after disable", func() (bool, string) {
		procs := g.serviceProcesses(t)
		return len(procs) == 0, strings.Join(procs, "; ")
	})
	if st, err := handler.ReadStatus(g.env.StatusFolder, 0); err != nil || st.Status.Operation != "Disable" || st.Status.Status != handler.StatusSuccess {
		t.Errorf("status after disable: %+v, %v", st.Status, err)
	}
	if d := w.dumpStores(t); len(d.versions("LocalMachine", "MY", vault, "web")) != 1 {
		t.Errorf("disable removed the installed certificate")
	}
	if start := g.startType(t); start != demandStart {
		t.Errorf("after disable the service's start type is %#x, want demand start (%#x): it would start at the next boot", start, demandStart)
	}
	hbStatus, hbMsg, err := handler.ReadHeartbeat(g.env.HeartbeatFile)
	if err != nil || hbStatus != handler.HeartbeatNotReady || !strings.Contains(hbMsg, "disabled") {
		t.Errorf("heartbeat after disable = %s %q, %v; want NotReady, disabled", hbStatus, hbMsg, err)
	}
	// Started anyway through the service control manager (as a boot with a
	// stale start type would): the service ends at once without polling,
	// and the Disable status and the heartbeat stay as disable wrote them.
	disabledStatus, err := os.ReadFile(handler.StatusPath(g.env.StatusFolder, 0))
	if err != nil {
		t.Fatal(err)
	}
	disabledBeat, err := os.ReadFile(g.env.HeartbeatFile)
	if err != nil {
		t.Fatal(err)
	}
	const endsAtStart = "not polling and leaving the status as it is"
	logPath := filepath.Join(g.env.LogFolder, "akvvm_service.log")
	logBefore, _ := os.ReadFile(logPath)
	if n := strings.Count(string(logBefore), endsAtStart); n != 0 {
		t.Fatalf("the service log says %q %d times before the start while disabled", endsAtStart, n)
	}
	out, errOut, code := w.run(t, "net", "start", handler.ServiceName)
	t.Logf("net start %s while disabled: exit %d\n%s%s", handler.ServiceName, code, out, errOut)
	waitFor(t, "the service started while disabled to end", func() (bool, string) {
		log, _ := os.ReadFile(logPath)
		procs := g.serviceProcesses(t)
		// The line the service logs when it starts and finds the marker:
		// it proves net start did start it.
		said := strings.Contains(string(log), endsAtStart)
		st, _ := os.ReadFile(handler.StatusPath(g.env.StatusFolder, 0))
		return len(procs) == 0 && said, fmt.Sprintf("service processes %q, logged why it ends: %v, 0.status: %s", procs, said, st)
	})
	if now, _ := os.ReadFile(handler.StatusPath(g.env.StatusFolder, 0)); !bytes.Equal(now, disabledStatus) {
		t.Errorf("a start while disabled changed the Disable status:\n%s", now)
	}
	if now, _ := os.ReadFile(g.env.HeartbeatFile); !bytes.Equal(now, disabledBeat) {
		t.Errorf("a start while disabled changed the heartbeat:\n%s", now)
	}
	// The guest agent enables again (the same goal state): the service
	// runs and starts at boot again.
	if out, code := g.run(t, "enable", 0); code != 0 {
		t.Fatalf("enable after disable: exit %d\n%s", code, out)
	}
	if start := g.startType(t); start != autoStart {
		t.Errorf("after enable again the service's start type is %#x, want automatic (%#x)", start, autoStart)
	}
	waitFor(t, "a Ready heartbeat after enable again", func() (bool, string) {
		status, msg, err := handler.ReadHeartbeat(g.env.HeartbeatFile)
		return err == nil && status == handler.HeartbeatReady, status + " " + msg
	})
	g.waitStatus(t, 0, "success after enable again", func(st handler.StatusItem) bool {
		return st.Status.Operation == "Enable" && st.Status.Status == handler.StatusSuccess
	})

	if out, code := g.run(t, "uninstall", -1); code != 0 {
		t.Fatalf("uninstall: exit %d\n%s", code, out)
	}
	uninstalled = true
	if ok, reg := g.serviceRegistered(t); ok {
		t.Errorf("akvvm_service is still registered after uninstall:\n%s", reg)
	}
	if _, err := os.Stat(g.env.StateDir()); !os.IsNotExist(err) {
		t.Errorf("uninstall left the handler state: %v", err)
	}
}
