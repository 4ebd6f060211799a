//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/emulator"
)

// The KeyVaultForLinux 3.0 schema accepts any positive pollingIntervalInS
// (only Windows 4.0 bounds it to 300-3600 s), so the daemon polls every
// second here and no SIGHUP is needed to see a rotation.
func TestRunPicksUpRotationWithinOneInterval(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "rotvault")
	first := e.create(t, "rotvault", "web", emulator.CertificateSpec{DNSNames: []string{"web.example.com"}})
	b := newBox(t)
	b.writeSettingsWith(t, e, map[string]any{"pollingIntervalInS": "1"}, nil,
		map[string]any{"url": "https://rotvault.vault.azure.net/secrets/web"})
	d := b.startRun(t, e)
	b.waitInstalled(t, "rotvault/web", first.Version)

	nextSecond()
	second := e.rotate(t, "rotvault", "web")
	rotated := time.Now()
	b.waitInstalled(t, "rotvault/web", second.Version)
	if got := b.link(t, "rotvault.web"); got != "rotvault.web."+second.Version {
		t.Errorf("link points at %s, want the rotated version %s", got, second.Version)
	}

	// Within one interval: the first listing that started after the
	// rotation led straight to the download of the new version (a listing
	// racing with the rotate answer may even have fetched it before).
	lists, fetched := 0, false
	for _, r := range e.requests(t, "") {
		switch {
		case r.Op == emulator.OpListVersions && r.Time.After(rotated):
			lists++
		case r.Op == emulator.OpGetSecret && strings.HasSuffix(r.Path, "/"+second.Version):
			fetched = true
		}
		if fetched {
			break
		}
	}
	if !fetched || lists > 1 {
		t.Errorf("after the rotation: %d version listings before the new version was fetched (fetched: %v), want at most 1", lists, fetched)
	}
	d.stop(t)
	s := b.status(t)
	if c := certStatus(t, s, "rotvault/web"); c.Thumbprint != second.Thumbprint || c.LastError != "" {
		t.Errorf("status after rotation: %+v", c)
	}
}

func TestRunReloadsSettingsOnSIGHUP(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "hupvault")
	web := e.create(t, "hupvault", "web", emulator.CertificateSpec{})
	api := e.create(t, "hupvault", "api", emulator.CertificateSpec{ContentType: "application/x-pem-file"})
	b := newBox(t)
	b.writeSettings(t, e, map[string]any{"url": "https://hupvault.vault.azure.net/secrets/web"})
	d := b.startRun(t, e) // polls hourly: only the reload can bring api in
	b.waitInstalled(t, "hupvault/web", web.Version)

	b.writeSettings(t, e,
		map[string]any{"url": "https://hupvault.vault.azure.net/secrets/web"},
		map[string]any{"url": "https://hupvault.vault.azure.net/secrets/api"})
	d.signal(t, syscall.SIGHUP)
	b.waitInstalled(t, "hupvault/api", api.Version)
	d.stop(t)
	if got := b.link(t, "hupvault.api"); got != "hupvault.api."+api.Version {
		t.Errorf("api link points at %q", got)
	}
}

func TestTwoNewestVersionsKeptForeignFilesUntouched(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "keepvault")
	versions := []string{e.create(t, "keepvault", "web", emulator.CertificateSpec{}).Version}
	b := newBox(t)
	b.writeSettings(t, e, map[string]any{"url": "https://keepvault.vault.azure.net/secrets/web"})
	if err := os.MkdirAll(b.store, 0o700); err != nil {
		t.Fatal(err)
	}
	// Files akvvm did not write, one named like a version of the observed certificate.
	foreign := map[string]string{
		"keepvault.web.0123456789abcdef0123456789abcdef": "not written by akvvm\n",
		"README.txt": "operator notes\n",
	}
	for name, content := range foreign {
		if err := os.WriteFile(filepath.Join(b.store, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before := mtimes(t, b.store)

	if out, code := b.sync(t, e); code != 0 {
		t.Fatalf("initial sync exit %d:\n%s", code, out)
	}
	for range 3 {
		nextSecond()
		versions = append(versions, e.rotate(t, "keepvault", "web").Version)
		if out, code := b.sync(t, e); code != 0 {
			t.Fatalf("sync after rotation exit %d:\n%s", code, out)
		}
	}

	entries, err := os.ReadDir(b.store)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, en := range entries {
		if strings.HasPrefix(en.Name(), "keepvault.web.") {
			if _, isForeign := foreign[en.Name()]; !isForeign {
				got = append(got, en.Name())
			}
		}
	}
	want := []string{"keepvault.web." + versions[2], "keepvault.web." + versions[3]}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("version files = %v, want the two newest %v", got, want)
	}
	if l := b.link(t, "keepvault.web"); l != "keepvault.web."+versions[3] {
		t.Errorf("link points at %s, want the newest version %s", l, versions[3])
	}
	after := mtimes(t, b.store)
	for name, content := range foreign {
		data, err := os.ReadFile(filepath.Join(b.store, name))
		if err != nil || string(data) != content || !after[name].Equal(before[name]) {
			t.Errorf("foreign file %s was touched (err %v)", name, err)
		}
	}
}

// nextSecond waits for the next wall-clock second. Key Vault stamps versions
// in whole seconds; tests that are not about same-second versions keep
// their versions apart (see TestSameSecondVersions for why).
func nextSecond() {
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
}

// Versions created within one second are ordered by asking the vault for
// the current one. The agent must install exactly that version, fetched by
// its id, and never go back to an older one.
func TestSameSecondVersions(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "tievault")
	b := newBox(t)
	b.writeSettings(t, e, map[string]any{"url": "https://tievault.vault.azure.net/secrets/web"})
	nextSecond()
	spec := emulator.CertificateSpec{KeyType: "EC-P256", SelfSigned: true}
	first := e.create(t, "tievault", "web", spec)
	if out, code := b.sync(t, e); code != 0 {
		t.Fatalf("initial sync exit %d:\n%s", code, out)
	}
	var last emulator.SecretVersion
	for range 3 {
		last = e.rotate(t, "tievault", "web")
	}
	if err := e.admin.ResetLog(t.Context()); err != nil {
		t.Fatal(err)
	}
	if out, code := b.sync(t, e); code != 0 {
		t.Fatalf("sync exit %d:\n%s", code, out)
	}
	if got := b.link(t, "tievault.web"); got != "tievault.web."+last.Version {
		t.Errorf("link points at %s, want the current version %s (first was %s)", got, last.Version, first.Version)
	}
	current := 0
	for _, r := range e.requests(t, emulator.OpGetSecret) {
		if strings.HasSuffix(r.Path, "/web/") || strings.HasSuffix(r.Path, "/web") {
			if current++; current > 1 {
				t.Errorf("asked for the current version %d times; the install must fetch the version by id", current)
			}
			continue // asking once for the current version is how ties are broken
		}
		if !strings.HasSuffix(r.Path, "/"+last.Version) {
			t.Errorf("downloaded %s, want only the current version %s", r.Path, last.Version)
		}
	}
}
