//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/emulator"
)

// emu is an emulator process started from the built binary.
type emu struct {
	ready emulator.ReadyInfo
	admin *emulator.AdminClient
	log   *lockedBuffer
}

// startEmulator runs "akvvm emulator" on random ports with its state in a
// temporary directory and waits until it is ready.
func startEmulator(t *testing.T, vaults ...string) *emu {
	t.Helper()
	return startEmulatorFlags(t, nil, vaults...)
}

// startEmulatorFlags is startEmulator with more emulator flags, such as
// --http1-only.
func startEmulatorFlags(t *testing.T, flags []string, vaults ...string) *emu {
	t.Helper()
	dir := t.TempDir()
	readyFile := filepath.Join(dir, "ready.json")
	args := []string{"emulator", "--listen", "127.0.0.1:0", "--imds-listen", "127.0.0.1:0",
		"--state-dir", filepath.Join(dir, "state"), "--ready-file", readyFile, "--log-level", "debug"}
	args = append(args, flags...)
	for _, v := range vaults {
		args = append(args, "--vault", v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, binary, args...)
	log := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("emulator output:\n%s", log.String())
		}
	})
	e := &emu{log: log}
	deadline := time.Now().Add(20 * time.Second)
	for {
		data, err := os.ReadFile(readyFile)
		if err == nil && json.Unmarshal(data, &e.ready) == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("emulator not ready after 20 s:\n%s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	admin, err := emulator.NewAdminClient(e.ready.AdminURL, e.ready.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	e.admin = admin
	return e
}

// agentArgs are the test-only routing and trust flags that reach the emulator.
func (e *emu) agentArgs() []string {
	return []string{"--connect-to", "*.vault.azure.net=" + e.ready.HTTPSAddr, "--ca-file", e.ready.CAFile}
}

// box is one machine: a settings file, a store directory and a state directory.
type box struct {
	dir, store, state, settings string
}

func newBox(t *testing.T) *box {
	t.Helper()
	dir := t.TempDir()
	return &box{dir: dir, store: filepath.Join(dir, "store"), state: filepath.Join(dir, "state"), settings: filepath.Join(dir, "settings.json")}
}

// writeSettings writes KeyVaultForLinux 3.0 settings observing certs.
func (b *box) writeSettings(t *testing.T, e *emu, certs ...map[string]any) {
	t.Helper()
	b.writeSettingsWith(t, e, nil, nil, certs...)
}

// writeSettingsWith writes KeyVaultForLinux 3.0 settings observing certs,
// with the fields of sms and auth added to secretsManagementSettings and
// authenticationSettings.
func (b *box) writeSettingsWith(t *testing.T, e *emu, sms, auth map[string]any, certs ...map[string]any) {
	t.Helper()
	for _, c := range certs {
		if _, ok := c["certificateStoreLocation"]; !ok {
			c["certificateStoreLocation"] = b.store
		}
	}
	m := map[string]any{
		"pollingIntervalInS":   "3600",
		"requireInitialSync":   true,
		"observedCertificates": certs,
	}
	maps.Copy(m, sms)
	a := map[string]any{"msiEndpoint": e.ready.IMDSEndpoint}
	maps.Copy(a, auth)
	s := map[string]any{"secretsManagementSettings": m, "authenticationSettings": a}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.settings, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// akvvm runs the binary and returns its combined output and exit code.
func akvvm(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("akvvm %s: %v", strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	return string(out), code
}

// sync runs one pass of the agent for the box.
func (b *box) sync(t *testing.T, e *emu, extra ...string) (string, int) {
	t.Helper()
	args := append([]string{"sync", "--once", "--settings", b.settings, "--state-dir", b.state}, e.agentArgs()...)
	return akvvm(t, append(args, extra...)...)
}

// status reads the status through "akvvm status --json".
func (b *box) status(t *testing.T) agent.Status {
	t.Helper()
	out, code := akvvm(t, "status", "--json", "--state-dir", b.state)
	if code != 0 {
		t.Fatalf("akvvm status: exit %d: %s", code, out)
	}
	var s agent.Status
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("akvvm status --json: %v\n%s", err, out)
	}
	return s
}

// snapshot reads every file and link target in dir, and in its
// subdirectories (the store's records), to prove nothing changed.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, en := range entries {
		p := filepath.Join(dir, en.Name())
		if en.IsDir() {
			for name, v := range snapshot(t, p) {
				out[en.Name()+"/"+name] = v
			}
			continue
		}
		if en.Type()&os.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			if err != nil {
				t.Fatal(err)
			}
			out[en.Name()] = "-> " + target
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[en.Name()] = string(data)
	}
	return out
}
