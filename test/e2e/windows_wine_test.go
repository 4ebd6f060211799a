//go:build linux

package e2e

import (
	"context"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// wineBox runs Windows builds of akvvm and winstoredump under Wine, in the
// prefix scripts/wine/env.sh prepared. Everything the Windows processes
// touch lives in dir, made with os.MkdirTemp. Under Wine, os.RemoveAll and
// t.TempDir's cleanup fail inside a Windows process ("unlinkat ... Invalid
// function", see the Wine notes), so no Windows process removes anything:
// the test removes dir from Linux when it ends.
type wineBox struct {
	dir   string
	akvvm string // akvvm.exe
	dump  string // winstoredump.exe
}

// needWine returns a wineBox, or skips (fails under CI) naming what is
// missing. The tests run through scripts/test-windows.sh, which sources
// scripts/wine/env.sh and prepares the prefix; a plain go test run without
// WINEPREFIX skips them.
func needWine(t *testing.T) *wineBox {
	t.Helper()
	prefix := os.Getenv("WINEPREFIX")
	if prefix == "" {
		t.Skip("WINEPREFIX is not set: the Windows store e2e tests run through scripts/test-windows.sh (it sources scripts/wine/env.sh)")
	}
	var missing []string
	if _, err := exec.LookPath("wine"); err != nil {
		missing = append(missing, "the wine command (apt-get install --no-install-recommends wine64 wine)")
	}
	if _, err := exec.LookPath("wineserver"); err != nil {
		missing = append(missing, "the wineserver command")
	}
	if _, err := os.Stat(filepath.Join(prefix, ".akvvm-ready")); err != nil {
		missing = append(missing, "a prepared Wine prefix at "+prefix+" with the ProcessPrng shim (akvvm_wine_prefix in scripts/wine/env.sh)")
	}
	if len(missing) > 0 {
		msg := "Wine is not set up: missing " + strings.Join(missing, "; ")
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir, err := os.MkdirTemp("", "akvvm-wine-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove %s: %v", dir, err)
		}
	})
	w := &wineBox{dir: dir, akvvm: filepath.Join(dir, "akvvm.exe"), dump: filepath.Join(dir, "winstoredump.exe")}
	buildWindows(t, w.akvvm, "github.com/akvvm/akvvm/cmd/akvvm")
	buildWindows(t, w.dump, "./testdata/winstoredump")
	// A persistent wineserver, started without our descriptors, keeps each
	// program run short; when one already runs for the prefix this exits at once.
	if exec.Command("wineserver", "-p30").Run() == nil {
		_ = exec.Command("wine", "cmd.exe", "/c", "exit", "0").Run()
	}
	return w
}

// buildWindows builds pkg for windows/amd64.
func buildWindows(t *testing.T, out, pkg string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=windows go build %s: %v\n%s", pkg, err, b)
	}
}

// winPath is how a Windows process under Wine names a Linux path (drive Z: is /).
func winPath(p string) string {
	return `Z:` + strings.ReplaceAll(p, "/", `\`)
}

// run runs a Windows program under Wine and returns its stdout, stderr and
// exit code. Output goes to files, not pipes, so Wine's helper processes can
// never hold the test up.
func (w *wineBox) run(t *testing.T, exe string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return w.runIn(t, "", nil, exe, args...)
}

// runEnv is run with extra environment variables, such as WINEDEBUG.
func (w *wineBox) runEnv(t *testing.T, env []string, exe string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return w.runIn(t, "", env, exe, args...)
}

// wineRunLimit bounds one run of a Windows program; each one the tests run
// ends within seconds.
const wineRunLimit = 2 * time.Minute

// runIn is runEnv in directory dir ("" for the test's own). Rarely, Wine
// does not end a process that has finished its work (seen once in CI: a
// handler enable logged its result, then its process stayed until killed).
// Every program the tests run is safe to run again, so a run that outlives
// wineRunLimit is killed and run once more, and the test log says so.
func (w *wineBox) runIn(t *testing.T, dir string, env []string, exe string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		stdout, stderr, code, hung := w.runOnce(t, dir, env, exe, args...)
		if !hung {
			return stdout, stderr, code
		}
		if attempt == 2 {
			t.Fatalf("wine %s %s did not end within %v, twice\nstdout:\n%s\nstderr:\n%s", filepath.Base(exe), strings.Join(args, " "), wineRunLimit, stdout, stderr)
		}
		t.Logf("wine %s %s did not end within %v; killed it and running it again (a rare Wine hang)\nstdout:\n%s\nstderr:\n%s",
			filepath.Base(exe), strings.Join(args, " "), wineRunLimit, stdout, stderr)
	}
}

// runOnce runs the program once; hung reports that it was killed at wineRunLimit.
func (w *wineBox) runOnce(t *testing.T, dir string, env []string, exe string, args ...string) (stdout, stderr string, code int, hung bool) {
	t.Helper()
	var files [2]*os.File
	for i, prefix := range []string{"stdout-", "stderr-"} {
		f, err := os.CreateTemp(w.dir, prefix)
		if err != nil {
			t.Fatal(err)
		}
		defer os.Remove(f.Name())
		files[i] = f
	}
	ctx, cancel := context.WithTimeout(context.Background(), wineRunLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "wine", append([]string{exe}, args...)...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = files[0], files[1]
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	runErr := cmd.Run()
	var out [2]string
	for i, f := range files {
		f.Close()
		b, _ := os.ReadFile(f.Name())
		out[i] = string(b)
	}
	if ctx.Err() != nil {
		return out[0], out[1], -1, true
	}
	var ee *exec.ExitError
	switch {
	case runErr == nil:
	case errors.As(runErr, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("wine %s: %v", filepath.Base(exe), runErr)
	}
	return out[0], out[1], code, false
}

// storeCert is one certificate as winstoredump reports it.
type storeCert struct {
	Thumbprint   string `json:"thumbprint"`
	FriendlyName string `json:"friendlyName"`
	Description  string `json:"description"`
	Renewal      string `json:"renewal"`
	HasKey       bool   `json:"hasKey"`
	DER          []byte `json:"der"`
}

// marker is akvvm's record in the description property (docs/windows.md).
type marker struct {
	Vault    string `json:"vault"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	Location string `json:"location"`
	Store    string `json:"store"`
}

// marker decodes the akvvm marker; ok is false for other descriptions.
func (c storeCert) marker() (m marker, ok bool) {
	rest, found := strings.CutPrefix(c.Description, "akvvm-managed/1 ")
	if !found || json.Unmarshal([]byte(rest), &m) != nil {
		return marker{}, false
	}
	return m, true
}

// storeDump is location → store → certificates, read by a new process.
type storeDump map[string]map[string][]storeCert

// dumpStores lists MY, TrustedPeople, CA and Root at both locations through
// winstoredump.
func (w *wineBox) dumpStores(t *testing.T) storeDump {
	t.Helper()
	out, errOut, code := w.run(t, w.dump, "list")
	if code != 0 {
		t.Fatalf("winstoredump list: exit %d: %s", code, errOut)
	}
	var d storeDump
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("winstoredump list: %v", err)
	}
	return d
}

// find returns the certificate with this thumbprint in one store.
func (d storeDump) find(location, store, thumb string) (storeCert, bool) {
	for _, c := range d[location][store] {
		if strings.EqualFold(c.Thumbprint, thumb) {
			return c, true
		}
	}
	return storeCert{}, false
}

// versions returns the versions of vault/name whose marker names this
// location and store, keyed by version.
func (d storeDump) versions(location, store, vault, name string) map[string]storeCert {
	out := map[string]storeCert{}
	for _, c := range d[location][store] {
		if m, ok := c.marker(); ok && m.Vault == vault && m.Name == name && m.Location == location && m.Store == store {
			out[m.Version] = c
		}
	}
	return out
}

// everywhere returns each location\store that holds thumb.
func (d storeDump) everywhere(thumb string) []string {
	var at []string
	for loc, stores := range d {
		for name := range stores {
			if _, ok := d.find(loc, name, thumb); ok {
				at = append(at, loc+`\`+name)
			}
		}
	}
	return at
}

// addForeign adds a certificate without key that akvvm did not install.
func (w *wineBox) addForeign(t *testing.T, location, store string, c *x509.Certificate, friendly, desc string) {
	t.Helper()
	file := filepath.Join(w.dir, "foreign.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := w.run(t, w.dump, "add", location, store, winPath(file), friendly, desc); code != 0 {
		t.Fatalf("winstoredump add: exit %d: %s", code, errOut)
	}
}

// removeCerts deletes certificates from every store winstoredump knows,
// so the shared prefix does not fill up with test certificates.
func (w *wineBox) removeCerts(t *testing.T, thumbs []string) {
	t.Helper()
	if len(thumbs) == 0 {
		return
	}
	if _, errOut, code := w.run(t, w.dump, append([]string{"remove"}, thumbs...)...); code != 0 {
		t.Errorf("winstoredump remove: exit %d: %s", code, errOut)
	}
}

// sha1Hex is the upper-case hex SHA-1 of DER, as Windows shows a thumbprint.
func sha1Hex(der []byte) string {
	sum := sha1.Sum(der)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}
