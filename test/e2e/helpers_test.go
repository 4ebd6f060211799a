//go:build linux

package e2e

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/emulator"
	"github.com/akvvm/akvvm/internal/identity"
	"github.com/akvvm/akvvm/internal/transport"
)

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// daemon is "akvvm run" as a process.
type daemon struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
	err  error
}

// startRun starts "akvvm run" for the box; Cleanup kills it if the test did not stop it.
func (b *box) startRun(t *testing.T, e *emu) *daemon {
	t.Helper()
	return b.startRunArgs(t, e)
}

// startRunArgs is startRun with extra flags.
func (b *box) startRunArgs(t *testing.T, e *emu, extra ...string) *daemon {
	t.Helper()
	args := append([]string{"run", "--settings", b.settings, "--state-dir", b.state, "--log-level", "debug"}, e.agentArgs()...)
	d := &daemon{cmd: exec.Command(binary, append(args, extra...)...), out: &lockedBuffer{}, done: make(chan struct{})}
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			_ = d.cmd.Process.Kill()
			<-d.done
		}
		if t.Failed() {
			t.Logf("akvvm run output:\n%s", d.out.String())
		}
	})
	return d
}

// signal sends sig to the daemon.
func (d *daemon) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal akvvm run: %v", err)
	}
}

// stop sends SIGTERM and requires a clean exit.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	d.signal(t, syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("akvvm run did not stop after SIGTERM:\n%s", d.out.String())
	}
	if d.err != nil {
		t.Fatalf("akvvm run after SIGTERM: %v\n%s", d.err, d.out.String())
	}
}

// waitFor polls cond until it holds; the deadline only bounds a hang, it
// asserts nothing about speed.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s; last seen: %s", what, detail)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// statusFile reads the status file directly (for polling; assertions use akvvm status).
func (b *box) statusFile() (agent.Status, error) {
	return agent.ReadStatusFile(filepath.Join(b.state, "status.json"))
}

// waitInstalled waits until the status file shows version installed for key.
func (b *box) waitInstalled(t *testing.T, key, version string) {
	t.Helper()
	waitFor(t, key+" version "+version+" installed", func() (bool, string) {
		s, err := b.statusFile()
		if err != nil {
			return false, err.Error()
		}
		for _, c := range s.Certificates {
			if c.Key == key {
				return c.InstalledVersion == version, c.InstalledVersion + " " + c.LastError
			}
		}
		return false, "no status for " + key
	})
}

// link returns the base name of the file the store link points at, or "".
func (b *box) link(t *testing.T, name string) string {
	t.Helper()
	target, err := os.Readlink(filepath.Join(b.store, name))
	if err != nil {
		if os.IsNotExist(err) {
			return ""
		}
		t.Fatal(err)
	}
	return filepath.Base(target)
}

// mtimes returns the modification time of every entry of dir (links not followed).
func mtimes(t *testing.T, dir string) map[string]time.Time {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]time.Time{}
	for _, en := range entries {
		fi, err := os.Lstat(filepath.Join(dir, en.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[en.Name()] = fi.ModTime()
	}
	return out
}

// sameFiles fails unless the two snapshots are equal, naming what differs
// but never printing file content (it holds private keys).
func sameFiles(t *testing.T, want, got map[string]string) {
	t.Helper()
	if maps.Equal(want, got) {
		return
	}
	for name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("store file %s disappeared", name)
		} else if got[name] != want[name] {
			t.Errorf("store file %s changed", name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("store file %s appeared", name)
		}
	}
}

// requests returns the emulator's logged requests for op ("" = all), without the
// SDK's unauthenticated first request that fetches the challenge.
func (e *emu) requests(t *testing.T, op string) []emulator.Request {
	t.Helper()
	all, err := e.admin.Requests(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []emulator.Request
	for _, r := range all {
		challenge := r.Status == 401 && r.ClientID == ""
		if (op == "" || r.Op == op) && !challenge {
			out = append(out, r)
		}
	}
	return out
}

// create issues a certificate in the emulator.
func (e *emu) create(t *testing.T, vault, name string, spec emulator.CertificateSpec) emulator.SecretVersion {
	t.Helper()
	v, err := e.admin.CreateCertificate(t.Context(), vault, name, spec)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// rotate issues a new version of a certificate.
func (e *emu) rotate(t *testing.T, vault, name string) emulator.SecretVersion {
	t.Helper()
	v, err := e.admin.RotateCertificate(t.Context(), vault, name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// fault activates a fault.
func (e *emu) fault(t *testing.T, f emulator.Fault) {
	t.Helper()
	if _, err := e.admin.AddFault(t.Context(), f); err != nil {
		t.Fatal(err)
	}
}

// secretsClient returns the official azsecrets client for vault, reaching
// the emulator as an operator's tools would reach Key Vault.
func (e *emu) secretsClient(t *testing.T, vault string) *azsecrets.Client {
	t.Helper()
	route, err := transport.ParseRoute("*.vault.azure.net=" + e.ready.HTTPSAddr)
	if err != nil {
		t.Fatal(err)
	}
	hc, err := transport.NewClient(transport.Options{Routes: []transport.Route{route}, CAFile: e.ready.CAFile}, transport.ClientConfig{NoProxy: true})
	if err != nil {
		t.Fatal(err)
	}
	cred, err := identity.New(identity.Options{Endpoint: e.ready.IMDSEndpoint, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := azsecrets.NewClient("https://"+vault+".vault.azure.net", cred, &azsecrets.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: hc}})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// deleteSecret deletes a secret through the Key Vault data plane, as an
// operator would with az keyvault secret delete.
func (e *emu) deleteSecret(t *testing.T, vault, name string) {
	t.Helper()
	if _, err := e.secretsClient(t, vault).DeleteSecret(t.Context(), name, nil); err != nil {
		t.Fatalf("delete secret %s: %v", name, err)
	}
}

// setExpires changes the expiry of one version through the Key Vault data
// plane, as an operator would with az keyvault secret set-attributes --expires.
func (e *emu) setExpires(t *testing.T, vault, name, version string, exp time.Time) {
	t.Helper()
	params := azsecrets.UpdateSecretPropertiesParameters{SecretAttributes: &azsecrets.SecretAttributes{Expires: &exp}}
	if _, err := e.secretsClient(t, vault).UpdateSecretProperties(t.Context(), name, version, params, nil); err != nil {
		t.Fatalf("set the expiry of %s/%s: %v", name, version, err)
	}
}

// certStatus returns the status of one certificate.
func certStatus(t *testing.T, s agent.Status, key string) agent.CertStatus {
	t.Helper()
	for _, c := range s.Certificates {
		if c.Key == key {
			return c
		}
	}
	t.Fatalf("status has no certificate %s: %+v", key, s)
	return agent.CertStatus{}
}

// contains reports whether s contains every part.
func contains(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
