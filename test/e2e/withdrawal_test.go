//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/emulator"
)

// withdrawal takes the newest version out of use in the vault, and says how
// to bring the certificate forward again. The Linux and the Windows e2e
// tests share these cases.
type withdrawal struct {
	name string
	// words: the status must name the withdrawn version together with
	// "withdrawn" or one of these.
	words    []string
	withdraw func(t *testing.T, e *emu, vault, name string, v emulator.SecretVersion)
	// forward undoes the withdrawal or supersedes it, and returns the
	// version that must then be current.
	forward func(t *testing.T, e *emu, vault, name string, v emulator.SecretVersion) emulator.SecretVersion
	// reversible: forward makes the withdrawn version itself usable again.
	reversible bool
}

const wdVault = "wdvault"

var withdrawals = []withdrawal{
	{name: "disabled", words: []string{"disabled"}, reversible: true,
		withdraw: func(t *testing.T, e *emu, vault, name string, v emulator.SecretVersion) {
			e.setEnabled(t, vault, name, v.Version, false)
		},
		forward: func(t *testing.T, e *emu, vault, name string, v emulator.SecretVersion) emulator.SecretVersion {
			e.setEnabled(t, vault, name, v.Version, true)
			return v
		}},
	{name: "expired", words: []string{"expired", "expiry"}, reversible: true,
		withdraw: func(t *testing.T, e *emu, vault, name string, v emulator.SecretVersion) {
			e.setExpires(t, vault, name, v.Version, time.Now().Add(-time.Minute))
		},
		forward: func(t *testing.T, e *emu, vault, name string, v emulator.SecretVersion) emulator.SecretVersion {
			e.setExpires(t, vault, name, v.Version, time.Now().Add(24*time.Hour))
			return v
		}},
	{name: "no longer listed", words: []string{"deleted", "no longer listed", "not listed"},
		withdraw: func(t *testing.T, e *emu, vault, name string, v emulator.SecretVersion) {
			if err := e.admin.DeleteSecretVersion(t.Context(), vault, name, v.Version); err != nil {
				t.Fatal(err)
			}
		},
		// A version the vault no longer has cannot come back; a new one
		// moves the certificate forward.
		forward: func(t *testing.T, e *emu, vault, name string, _ emulator.SecretVersion) emulator.SecretVersion {
			nextSecond()
			return e.rotate(t, vault, name)
		}},
}

// The installed state follows the vault backwards: one sync --once after
// the newest version is disabled, expires or is no longer listed moves the
// link back to the version before it and says why; the withdrawn file goes
// within two more passes, the older one is untouched; a version usable
// again (or a new one) moves the link forward.
func TestSyncFollowsWithdrawnVersionBackAndForward(t *testing.T) {
	t.Parallel()
	for _, w := range withdrawals {
		t.Run(w.name, func(t *testing.T) {
			t.Parallel()
			testWithdrawal(t, w)
		})
	}
}

func testWithdrawal(t *testing.T, w withdrawal) {
	e := startEmulator(t, wdVault)
	spec := emulator.CertificateSpec{DNSNames: []string{"web.example.com"}}
	v1 := e.create(t, wdVault, "web", spec)
	b := newBox(t)
	b.writeSettings(t, e, map[string]any{"url": "https://" + wdVault + ".vault.azure.net/secrets/web"})
	b.mustSync(t, e, "first sync")
	nextSecond()
	v2 := e.rotate(t, wdVault, "web")
	b.mustSync(t, e, "sync after the rotation")
	link, f1, f2 := wdVault+".web", wdVault+".web."+v1.Version, wdVault+".web."+v2.Version
	if got := b.link(t, link); got != f2 {
		t.Fatalf("before the withdrawal the link points at %s, want %s", got, f2)
	}
	v1File := readFile(t, filepath.Join(b.store, f1))

	w.withdraw(t, e, wdVault, "web", v2)
	b.mustSync(t, e, "sync after the withdrawal")
	if got := b.link(t, link); got != f1 {
		t.Errorf("after one pass the link points at %s, want the version before the withdrawn one, %s", got, f1)
	}
	c := certStatus(t, b.status(t), wdVault+"/web")
	if c.InstalledVersion != v1.Version || c.Thumbprint != v1.Thumbprint {
		t.Errorf("status --json: installed %s %s, want %s %s", c.InstalledVersion, c.Thumbprint, v1.Version, v1.Thumbprint)
	}
	b.checkWithdrawalReported(t, wdVault+"/web", v2.Version, w.words)

	// The withdrawn file goes, at the latest one pass later than the
	// withdrawal pass; the version in use stays as it was.
	gone := false
	for pass := 1; pass <= 2 && !gone; pass++ {
		b.mustSync(t, e, "sync after the withdrawal pass")
		_, err := os.Lstat(filepath.Join(b.store, f2))
		gone = os.IsNotExist(err)
	}
	if !gone {
		t.Errorf("the withdrawn version's file %s is still there two passes after the withdrawal", f2)
	}
	if got := readFile(t, filepath.Join(b.store, f1)); got != v1File {
		t.Errorf("the file of the version in use, %s, changed", f1)
	}
	if got := b.link(t, link); got != f1 {
		t.Errorf("after the removal passes the link points at %s, want %s", got, f1)
	}
	// The record no longer lists the withdrawn version, and lists the rest.
	b.checkStoreRecords(t, []string{link}, "after the removal passes")

	want := w.forward(t, e, wdVault, "web", v2).Version
	b.mustSync(t, e, "sync after the version came back")
	if got := b.link(t, link); got != wdVault+".web."+want {
		t.Errorf("after the version is usable again the link points at %s, want %s", got, wdVault+".web."+want)
	}
	if err := checkVersionFile(filepath.Join(b.store, wdVault+".web."+want), ""); err != nil {
		t.Errorf("the version moved forward to: %v", err)
	}
	if c := certStatus(t, b.status(t), wdVault+"/web"); c.InstalledVersion != want || c.LastError != "" {
		t.Errorf("status after moving forward: installed %s, last error %q; want %s and no error", c.InstalledVersion, c.LastError, want)
	}
	b.checkStoreRecords(t, []string{link}, "after moving forward")
}

// With nothing usable left, the installed version stays, file and link,
// pass after pass, and status says it is kept.
func TestSyncKeepsOnlyVersionWhenNothingUsableRemains(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, wdVault)
	v1 := e.create(t, wdVault, "web", emulator.CertificateSpec{})
	b := newBox(t)
	b.writeSettings(t, e, map[string]any{"url": "https://" + wdVault + ".vault.azure.net/secrets/web"})
	b.mustSync(t, e, "first sync")
	before := filteredSnapshot(t, b.store)
	e.setEnabled(t, wdVault, "web", v1.Version, false)
	for pass := 1; pass <= 3; pass++ {
		out, code := b.sync(t, e)
		t.Logf("pass %d with the only version disabled: exit %d", pass, code)
		sameFiles(t, before, filteredSnapshot(t, b.store))
		if got := b.link(t, wdVault+".web"); got != wdVault+".web."+v1.Version {
			t.Fatalf("pass %d: the link points at %q, want the only version %s", pass, got, v1.Version)
		}
		c := certStatus(t, b.status(t), wdVault+"/web")
		if c.InstalledVersion != v1.Version {
			t.Errorf("pass %d: status installed %q, want the kept version %s", pass, c.InstalledVersion, v1.Version)
		}
		if !strings.Contains(c.LastError, "kept") && !strings.Contains(c.LastError, "keep") {
			t.Errorf("pass %d: last error %q, want one saying the installed version is kept", pass, c.LastError)
		}
		if strings.Contains(out, "PRIVATE KEY") {
			t.Errorf("pass %d: key material in the output", pass)
		}
		b.checkStoreRecords(t, []string{wdVault + ".web"}, fmt.Sprintf("pass %d with the only version disabled", pass))
	}
	e.setEnabled(t, wdVault, "web", v1.Version, true)
	b.mustSync(t, e, "sync after the version was enabled again")
	if c := certStatus(t, b.status(t), wdVault+"/web"); c.InstalledVersion != v1.Version || c.LastError != "" {
		t.Errorf("after enabling the version again: installed %s, last error %q", c.InstalledVersion, c.LastError)
	}
	b.checkStoreRecords(t, []string{wdVault + ".web"}, "after the version was enabled again")
}

// akvvm run follows the vault too: a version whose expiry passes while it
// runs is withdrawn without any change in the vault, a disabled one at the
// next poll, and an enabled one comes back.
func TestRunFollowsWithdrawalsBothWays(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, wdVault)
	v1 := e.create(t, wdVault, "web", emulator.CertificateSpec{KeyType: "EC-P256"})
	b := newBox(t)
	b.writeSettingsWith(t, e, map[string]any{"pollingIntervalInS": "1"}, nil,
		map[string]any{"url": "https://" + wdVault + ".vault.azure.net/secrets/web"})
	d := b.startRun(t, e)
	b.waitInstalled(t, wdVault+"/web", v1.Version)
	nextSecond()
	v2 := e.rotate(t, wdVault, "web")
	b.waitLink(t, "web", v2.Version)

	// v3's certificate, and so its exp, ends a few seconds from now: it is
	// installed at the next poll, and withdrawn at the first poll after its
	// expiry without any change in the vault.
	nextSecond()
	nbf := time.Now().Add(-time.Minute)
	life := time.Minute + 8*time.Second
	v3 := e.create(t, wdVault, "web", emulator.CertificateSpec{KeyType: "EC-P256", NotBefore: &nbf, Validity: emulator.Duration(life)})
	// Certificates keep whole seconds, so exp is up to a second earlier.
	notYet := nbf.Add(life - time.Second)
	b.waitLink(t, "web", v3.Version)
	b.waitLink(t, "web", v2.Version)
	if time.Now().Before(notYet) {
		t.Errorf("the link went back to v2 before v3 expired (%s)", notYet.Format(time.RFC3339))
	}
	b.waitInstalled(t, wdVault+"/web", v2.Version)
	b.checkWithdrawalReported(t, wdVault+"/web", v3.Version, []string{"expired", "expiry"})

	e.setEnabled(t, wdVault, "web", v2.Version, false)
	b.waitLink(t, "web", v1.Version)
	b.waitInstalled(t, wdVault+"/web", v1.Version)
	b.checkWithdrawalReported(t, wdVault+"/web", v2.Version, []string{"disabled"})
	e.setEnabled(t, wdVault, "web", v2.Version, true)
	b.waitLink(t, "web", v2.Version)
	d.stop(t)

	c := certStatus(t, b.status(t), wdVault+"/web")
	if c.InstalledVersion != v2.Version || c.Thumbprint != v2.Thumbprint {
		t.Errorf("status after re-enabling: installed %s %s, want %s %s", c.InstalledVersion, c.Thumbprint, v2.Version, v2.Thumbprint)
	}
	if err := checkVersionFile(filepath.Join(b.store, wdVault+".web."+v2.Version), v2.Thumbprint); err != nil {
		t.Error(err)
	}
	view, err := viewStore(b.store, []string{wdVault + ".web"})
	if err != nil {
		t.Error(err)
	}
	if len(view.temps) > 0 {
		t.Errorf("temporary files left in the store after a clean stop: %v", view.temps)
	}
	// Whichever of the withdrawn files are gone by now, the record lists
	// exactly the version files the store holds.
	b.checkStoreRecords(t, []string{wdVault + ".web"}, "after a clean stop")
}

// mustSync runs one pass and requires exit code 0 (every certificate installed).
func (b *box) mustSync(t *testing.T, e *emu, what string) {
	t.Helper()
	if out, code := b.sync(t, e); code != 0 {
		t.Fatalf("%s: exit %d:\n%s", what, code, out)
	}
}

// waitLink waits until the link of certificate name in vault wdVault points at version.
func (b *box) waitLink(t *testing.T, name, version string) {
	t.Helper()
	want := wdVault + "." + name + "." + version
	waitFor(t, "the link to point at "+want, func() (bool, string) {
		target, err := os.Readlink(filepath.Join(b.store, wdVault+"."+name))
		if err != nil {
			return false, err.Error()
		}
		return filepath.Base(target) == want, "points at " + filepath.Base(target)
	})
}

// setEnabled enables or disables one version in the emulator.
func (e *emu) setEnabled(t *testing.T, vault, name, version string, enabled bool) {
	t.Helper()
	if err := e.admin.SetSecretEnabled(t.Context(), vault, name, version, enabled); err != nil {
		t.Fatal(err)
	}
}

// checkWithdrawalReported requires both akvvm status --json (in the
// certificate's entry, apart from its installed version) and the akvvm
// status table to name the withdrawn
// version together with "withdrawn" or one of words. The table may shorten
// versions to their first 12 characters.
func (b *box) checkWithdrawalReported(t *testing.T, key, version string, words []string) {
	t.Helper()
	out, code := akvvm(t, "status", "--json", "--state-dir", b.state)
	if code != 0 {
		t.Fatalf("akvvm status --json: exit %d: %s", code, out)
	}
	table, code := akvvm(t, "status", "--state-dir", b.state)
	if code != 0 {
		t.Fatalf("akvvm status: exit %d: %s", code, table)
	}
	checkWithdrawalStatus(t, out, table, key, version, words)
}

// checkWithdrawalStatus is checkWithdrawalReported on the output of akvvm
// status --json (statusJSON) and akvvm status (table), wherever they ran.
func checkWithdrawalStatus(t *testing.T, statusJSON, table, key, version string, words []string) {
	t.Helper()
	// Not "expires": the table's EXPIRES column would match it.
	words = append([]string{"withdrawn"}, words...)
	mentions := func(s string) bool {
		s = strings.ToLower(s)
		for _, w := range words {
			if strings.Contains(s, w) {
				return true
			}
		}
		return false
	}
	var raw struct {
		Certificates []map[string]any `json:"certificates"`
	}
	if err := json.Unmarshal([]byte(statusJSON), &raw); err != nil {
		t.Fatalf("akvvm status --json: %v", err)
	}
	var entry string
	for _, c := range raw.Certificates {
		if c["key"] == key {
			// Only what reports on versions counts: not the installed
			// version, and not the names and paths, which hold test names.
			for _, f := range []string{"key", "url", "location", "installedVersion", "thumbprint"} {
				delete(c, f)
			}
			data, _ := json.Marshal(c)
			entry = string(data)
		}
	}
	if !strings.Contains(entry, version) || !mentions(entry) {
		t.Errorf("status --json for %s does not report version %s as %s; the entry without installed version, names and paths: %s", key, version, strings.Join(words, "/"), entry)
	}
	if !strings.Contains(table, version[:12]) || !mentions(table) {
		t.Errorf("akvvm status does not report version %s as %s:\n%s", version, strings.Join(words, "/"), table)
	}
}

// readFile returns a file's content for comparison (never for printing).
func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// filteredSnapshot is snapshot without akvvm's own dot files, whose format
// is the store's business.
func filteredSnapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	s := snapshot(t, dir)
	for name := range s {
		if strings.HasPrefix(name, ".") {
			delete(s, name)
		}
	}
	return s
}
