//go:build linux

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
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
	"github.com/akvvm/akvvm/packaging"
)

// guestAgent lays out a handler directory the way the Linux guest agent
// does and runs the manifest's commands in it.
type guestAgent struct {
	dir, version string
	env          *handler.Environment
	manifest     packaging.HandlerManifest
	// managerEnv picks the service manager of the commands; nil means
	// AKVVM_SERVICE_MANAGER=manual (the test runs the service itself).
	managerEnv []string
}

func newGuestAgent(t *testing.T, version string) *guestAgent {
	t.Helper()
	return newGuestAgentIn(t, t.TempDir(), version)
}

// newGuestAgentIn is newGuestAgent under root, where another version of
// the extension may already be (an update).
func newGuestAgentIn(t *testing.T, root, version string) *guestAgent {
	t.Helper()
	name := "Microsoft.Azure.KeyVault.KeyVaultForLinux"
	g := &guestAgent{dir: filepath.Join(root, "waagent", name+"-"+version), version: version}
	g.env = &handler.Environment{
		Name: name, Dir: g.dir, LogFolder: filepath.Join(root, "log", name),
		ConfigFolder: filepath.Join(g.dir, "config"), StatusFolder: filepath.Join(g.dir, "status"),
		HeartbeatFile: filepath.Join(g.dir, "heartbeat.log"),
	}
	for _, d := range []string{g.env.ConfigFolder, g.env.StatusFolder, filepath.Join(g.dir, "bin")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// The package: manifest and binary.
	manifest, err := packaging.Manifest("linux")
	if err != nil {
		t.Fatal(err)
	}
	if g.manifest, err = packaging.CheckManifest(manifest, "linux"); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	for p, data := range map[string][]byte{"HandlerManifest.json": manifest, "bin/akvvm": bin} {
		if err := os.WriteFile(filepath.Join(g.dir, p), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	envJSON, err := json.Marshal([]map[string]any{{"name": name, "version": 1.0, "handlerEnvironment": map[string]string{
		"logFolder": g.env.LogFolder, "configFolder": g.env.ConfigFolder, "statusFolder": g.env.StatusFolder,
		"heartbeatFile": g.env.HeartbeatFile, "eventsFolder": filepath.Join(g.env.LogFolder, "events"),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(g.dir, handler.EnvironmentFile), envJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	return g
}

// run runs one manifest command through a shell in the handler directory,
// with the guest agent's environment; seq < 0 leaves ConfigSequenceNumber out.
func (g *guestAgent) run(t *testing.T, op string, seq int) (string, int) {
	t.Helper()
	h := g.manifest.HandlerManifest
	command := map[string]string{"install": h.InstallCommand, "enable": h.EnableCommand, "disable": h.DisableCommand,
		"uninstall": h.UninstallCommand, "update": h.UpdateCommand}[op]
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // the guest agent's enable limit
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	cmd.Dir = g.dir
	cmd.Env = append(os.Environ(),
		"AZURE_GUEST_AGENT_EXTENSION_PATH="+g.dir,
		"AZURE_GUEST_AGENT_EXTENSION_VERSION="+g.version)
	if g.managerEnv != nil {
		cmd.Env = append(cmd.Env, g.managerEnv...)
	} else {
		// No systemd in the test machine: the test runs the service itself.
		cmd.Env = append(cmd.Env, "AKVVM_SERVICE_MANAGER=manual")
	}
	if seq >= 0 {
		cmd.Env = append(cmd.Env, "ConfigSequenceNumber="+strconv.Itoa(seq))
	}
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", command, err)
	}
	return string(out), code
}

// writeSettings writes <seq>.settings in the guest agent's RuntimeSettings form.
func (g *guestAgent) writeSettings(t *testing.T, seq int, public map[string]any) {
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

func (g *guestAgent) status(t *testing.T, seq int) handler.StatusItem {
	t.Helper()
	st, err := handler.ReadStatus(g.env.StatusFolder, seq)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// waitStatus waits for <seq>.status to reach want; it fails on any other
// terminal status and after a generous deadline.
func (g *guestAgent) waitStatus(t *testing.T, seq int, want string) handler.StatusItem {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var st handler.StatusItem
	for time.Now().Before(deadline) {
		var err error
		if st, err = handler.ReadStatus(g.env.StatusFolder, seq); err == nil {
			if st.Status.Status == want {
				return st
			}
			if st.Status.Status == handler.StatusSuccess || st.Status.Status == handler.StatusError {
				t.Fatalf("%d.status is %s, want %s: %s", seq, st.Status.Status, want, st.Status.FormattedMessage.Message)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%d.status did not become %s: last %+v", seq, want, st.Status)
	return st
}

// startService plays systemd: it runs the unit's command from the handler
// directory, routed to the emulator, with the agent's schedule sped up.
func (g *guestAgent) startService(t *testing.T, e *emu) func() {
	t.Helper()
	args := append([]string{"handler", "service", "--test-time-scale", "2000"}, e.agentArgs()...)
	cmd := exec.Command(filepath.Join(g.dir, "bin", "akvvm"), args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(os.Interrupt)
		if err := cmd.Wait(); err != nil {
			t.Errorf("service did not stop cleanly: %v\n%s", err, out.String())
		}
		if t.Failed() {
			t.Logf("service output:\n%s", out.String())
		}
	}
	t.Cleanup(stop)
	return stop
}

func TestHandlerLifecycleAsTheGuestAgentDrivesIt(t *testing.T) {
	e := startEmulator(t, "e2evault", "lockedvault")
	ctx := context.Background()
	const clientID = "8d3a0f61-5c2e-4f7b-9a41-2b6c0e9d7f10"
	if err := e.admin.AddIdentity(ctx, clientID); err != nil {
		t.Fatal(err)
	}
	// lockedvault lets only another identity read.
	if err := e.admin.SetAccess(ctx, "lockedvault", map[string][]emulator.Permission{
		"0b7e6d7c-1111-4222-8333-944455556666": {emulator.PermGet, emulator.PermList}}); err != nil {
		t.Fatal(err)
	}
	web, err := e.admin.CreateCertificate(ctx, "e2evault", "web", emulator.CertificateSpec{DNSNames: []string{"web.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.CreateCertificate(ctx, "lockedvault", "payroll", emulator.CertificateSpec{DNSNames: []string{"payroll.example.com"}}); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(t.TempDir(), "store")
	settings := func(urls ...string) map[string]any {
		var certs []any
		for _, u := range urls {
			certs = append(certs, map[string]any{"url": u, "certificateStoreLocation": store})
		}
		return map[string]any{
			"secretsManagementSettings": map[string]any{"pollingIntervalInS": "3600", "requireInitialSync": true, "observedCertificates": certs},
			"authenticationSettings":    map[string]any{"msiEndpoint": e.ready.IMDSEndpoint, "msiClientId": clientID},
		}
	}
	g := newGuestAgent(t, "3.0.7")

	if out, code := g.run(t, "install", -1); code != 0 {
		t.Fatalf("install: exit %d\n%s", code, out)
	}

	// seq 0: one certificate the identity may read.
	g.writeSettings(t, 0, settings("https://e2evault.vault.azure.net/secrets/web"))
	if out, code := g.run(t, "enable", 0); code != 0 {
		t.Fatalf("enable 0: exit %d\n%s", code, out)
	}
	if st := g.status(t, 0); st.Status.Status != handler.StatusTransitioning || st.Status.Operation != "Enable" {
		t.Fatalf("after enable: %+v", st.Status)
	}
	stop := g.startService(t, e)
	st := g.waitStatus(t, 0, handler.StatusSuccess)
	if len(st.Status.SubStatus) != 1 {
		t.Fatalf("substatus = %+v", st.Status.SubStatus)
	}
	sub := st.Status.SubStatus[0]
	if sub.Status != handler.StatusSuccess || !strings.Contains(sub.FormattedMessage.Message, "version "+web.Version) ||
		!strings.Contains(sub.FormattedMessage.Message, "thumbprint "+web.Thumbprint) || !strings.Contains(sub.FormattedMessage.Message, "expires ") {
		t.Errorf("substatus = %+v", sub)
	}
	if _, err := os.Readlink(filepath.Join(store, "e2evault.web")); err != nil {
		t.Errorf("certificate not installed: %v", err)
	}
	hb, err := os.ReadFile(g.env.HeartbeatFile)
	var beat []struct {
		Heartbeat struct{ Status string } `json:"heartbeat"`
	}
	if err != nil || json.Unmarshal(hb, &beat) != nil || len(beat) != 1 || beat[0].Heartbeat.Status != "Ready" {
		t.Errorf("heartbeat file: %s, %v", hb, err)
	}

	// The guest agent calls enable again with the same goal state: nothing happens.
	if out, code := g.run(t, "enable", 0); code != 0 || !strings.Contains(out, "already processed") {
		t.Errorf("repeated enable 0: exit %d\n%s", code, out)
	}
	if st := g.status(t, 0); st.Status.Status != handler.StatusSuccess {
		t.Errorf("repeated enable changed the status: %+v", st.Status)
	}

	// seq 1: add a certificate the identity may not read.
	g.writeSettings(t, 1, settings("https://e2evault.vault.azure.net/secrets/web", "https://lockedvault.vault.azure.net/secrets/payroll"))
	if out, code := g.run(t, "enable", 1); code != 0 {
		t.Fatalf("enable 1: exit %d\n%s", code, out)
	}
	if st := g.status(t, 1); st.Status.Status != handler.StatusTransitioning {
		t.Fatalf("after enable 1: %+v", st.Status)
	}
	stop() // plays "systemctl restart"
	stop = g.startService(t, e)
	st = g.waitStatus(t, 1, handler.StatusError)
	msg := st.Status.FormattedMessage.Message
	t.Logf("1.status: %s", msg)
	if !strings.Contains(msg, "403") || !strings.Contains(msg, clientID) || !strings.Contains(msg, "lockedvault") {
		t.Errorf("error message does not name the 403, the identity and the vault: %s", msg)
	}
	subs := map[string]handler.SubStatus{}
	for _, s := range st.Status.SubStatus {
		subs[s.Name] = s
	}
	if s := subs["https://e2evault.vault.azure.net/secrets/web"]; s.Status != handler.StatusSuccess {
		t.Errorf("web substatus = %+v", s)
	}
	if s := subs["https://lockedvault.vault.azure.net/secrets/payroll"]; s.Status != handler.StatusError || !strings.Contains(s.FormattedMessage.Message, "403") ||
		!strings.Contains(s.FormattedMessage.Message, "gave up after 25 attempts") {
		t.Errorf("payroll substatus = %+v", s)
	}

	stop() // plays "systemctl stop"
	if out, code := g.run(t, "disable", -1); code != 0 {
		t.Fatalf("disable: exit %d\n%s", code, out)
	}
	if st := g.status(t, 1); st.Status.Operation != "Disable" || st.Status.Status != handler.StatusSuccess {
		t.Errorf("after disable: %+v", st.Status)
	}
	if out, code := g.run(t, "uninstall", -1); code != 0 {
		t.Fatalf("uninstall: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(g.dir, "state")); !os.IsNotExist(err) {
		t.Errorf("state left after uninstall: %v", err)
	}
	if _, err := os.Readlink(filepath.Join(store, "e2evault.web")); err != nil {
		t.Errorf("uninstall removed an installed certificate: %v", err)
	}
	for _, name := range []string{"akvvm_handler.log", "akvvm_service.log"} {
		checkJSONLog(t, filepath.Join(g.env.LogFolder, name))
	}
}

// With removeCertificatesOnUninstall, uninstall leaves the store directory
// without akvvm's files but with the files akvvm did not write; without it,
// the certificates stay.
func TestHandlerUninstallRemovesCertificatesWhenConfigured(t *testing.T) {
	e := startEmulator(t, "e2evault")
	ctx := context.Background()
	const clientID = "8d3a0f61-5c2e-4f7b-9a41-2b6c0e9d7f10"
	if err := e.admin.AddIdentity(ctx, clientID); err != nil {
		t.Fatal(err)
	}
	web, err := e.admin.CreateCertificate(ctx, "e2evault", "web", emulator.CertificateSpec{DNSNames: []string{"web.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, remove := range []bool{true, false} {
		t.Run("removeCertificatesOnUninstall="+strconv.FormatBool(remove), func(t *testing.T) {
			store := filepath.Join(t.TempDir(), "store")
			if err := os.MkdirAll(store, 0o700); err != nil {
				t.Fatal(err)
			}
			// Files akvvm did not write, one named like a version of the certificate.
			for _, name := range []string{"app.pem", "e2evault.web.0123456789abcdef0123456789abcdef"} {
				if err := os.WriteFile(filepath.Join(store, name), []byte("not akvvm's"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			g := newGuestAgent(t, "3.0.7")
			g.writeSettings(t, 0, map[string]any{
				"secretsManagementSettings": map[string]any{
					"pollingIntervalInS": "3600", "requireInitialSync": true, "removeCertificatesOnUninstall": remove,
					"observedCertificates": []any{map[string]any{"url": "https://e2evault.vault.azure.net/secrets/web",
						"certificateStoreLocation": store, "customSymbolicLinkName": "web.pem"}},
				},
				"authenticationSettings": map[string]any{"msiEndpoint": e.ready.IMDSEndpoint, "msiClientId": clientID},
			})
			for _, op := range []string{"install", "enable"} {
				if out, code := g.run(t, op, 0); code != 0 {
					t.Fatalf("%s: exit %d\n%s", op, code, out)
				}
			}
			stop := g.startService(t, e)
			g.waitStatus(t, 0, handler.StatusSuccess)
			stop()
			installed := []string{".akvvm-records", ".akvvm.lock", "app.pem", "e2evault.web." + web.Version,
				"e2evault.web.0123456789abcdef0123456789abcdef", "web.pem"}
			slices.Sort(installed)
			if got := dirNames(t, store); !slices.Equal(got, installed) {
				t.Fatalf("store after the service ran = %v, want %v", got, installed)
			}
			if out, code := g.run(t, "disable", -1); code != 0 {
				t.Fatalf("disable: exit %d\n%s", code, out)
			}
			out, code := g.run(t, "uninstall", -1)
			if code != 0 {
				t.Fatalf("uninstall: exit %d\n%s", code, out)
			}
			want := installed
			if remove {
				want = []string{"app.pem", "e2evault.web.0123456789abcdef0123456789abcdef"}
			}
			if got := dirNames(t, store); !slices.Equal(got, want) {
				t.Errorf("store after uninstall = %v, want %v", got, want)
			}
			if _, err := os.Stat(filepath.Join(g.dir, "state")); !os.IsNotExist(err) {
				t.Errorf("state left after uninstall: %v", err)
			}
		})
	}
}

// dirNames lists the entries of dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// checkJSONLog checks that a log file holds JSON records.
func checkJSONLog(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Errorf("log: %v", err)
		return
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); n++ {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec["msg"] == nil {
			t.Errorf("%s line %d is not a JSON record: %s", path, n+1, sc.Text())
			return
		}
	}
	if n == 0 {
		t.Errorf("%s is empty", path)
	}
}
