//go:build linux

package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/emulator"
)

// test40Withdrawn follows the vault backwards and forwards in the real
// store of the Wine prefix: with two versions installed (4.0), the newest
// is disabled, so the previous one is made current again and the withdrawn
// one renews to it; enabled again, the newest is current once more; disabled
// again for two checks, it is removed.
func (f *winFixture) test40Withdrawn(t *testing.T) {
	const name = "withdrawn"
	spec := emulator.CertificateSpec{KeyType: "RSA-2048", DNSNames: []string{"withdrawn.example.com"}}
	v := []emulator.SecretVersion{f.e.create(t, f.vault, name, spec)}
	nextSecond()
	v = append(v, f.e.rotate(t, f.vault, name))
	settings := f.writeSettings(t, "settings40-withdrawn.json", nil,
		map[string]any{"url": "https://" + f.vault + ".vault.azure.net/secrets/" + name, "certificateStoreName": "MY",
			"certificateStoreLocation": "LocalMachine"})
	state := filepath.Join(f.w.dir, "state40w")
	sync := func(what string) string {
		t.Helper()
		return f.sync(t, what, settings, state, "--extra-roots", winPath(f.e.ready.CAFile))
	}
	enable := func(ver emulator.SecretVersion, on bool) {
		t.Helper()
		if err := f.e.admin.SetSecretEnabled(t.Context(), f.vault, name, ver.Version, on); err != nil {
			t.Fatal(err)
		}
	}
	// links checks that exactly vs are installed, each with its renewal
	// link: the thumbprint of the version it renews to, "" for none.
	links := func(what string, want map[string]string) {
		t.Helper()
		d := f.w.dumpStores(t)
		got := d.versions("LocalMachine", "MY", f.vault, name)
		if len(got) != len(want) {
			t.Errorf("%s: LocalMachine\\MY holds %d versions of %s, want %d", what, len(got), name, len(want))
		}
		for _, sv := range v {
			w, ok := want[sv.Version]
			if !ok {
				if at := d.everywhere(sv.Thumbprint); len(at) > 0 {
					t.Errorf("%s: version %s should be gone but is in %v", what, sv.Version, at)
				}
				continue
			}
			f.checkInstalled(t, d, "LocalMachine", "MY", name, sv)
			if r := got[sv.Version].Renewal; r != strings.ToUpper(w) {
				t.Errorf("%s: version %s renewal link %q, want %q", what, sv.Version, r, strings.ToUpper(w))
			}
		}
	}

	sync("initial sync of two versions")
	links("after the initial sync", map[string]string{v[0].Version: v[1].Thumbprint, v[1].Version: ""})

	enable(v[1], false)
	events := sync("sync after the newest version was disabled")
	if !eventReported(events, "Kind=Rollback", "OldThumbprint="+v[1].Thumbprint, "NewThumbprint="+v[0].Thumbprint, "StoreName=MY", "StoreLocation=LocalMachine") {
		t.Errorf("no rollback event 1001 from %s to %s; trace:\n%s", v[1].Thumbprint, v[0].Thumbprint, events)
	}
	// The withdrawn version stays until the next check and renews to the previous one.
	links("after going back", map[string]string{v[0].Version: "", v[1].Version: v[0].Thumbprint})

	enable(v[1], true)
	events = sync("sync after the newest version was enabled again")
	if !eventReported(events, "Kind=Renewal", "OldThumbprint="+v[0].Thumbprint, "NewThumbprint="+v[1].Thumbprint, "StoreName=MY", "StoreLocation=LocalMachine") {
		t.Errorf("no renewal event 1001 from %s to %s; trace:\n%s", v[0].Thumbprint, v[1].Thumbprint, events)
	}
	links("after going forwards again", map[string]string{v[0].Version: v[1].Thumbprint, v[1].Version: ""})

	enable(v[1], false)
	sync("sync after the newest version was disabled again")
	sync("the next check")
	links("after the withdrawn version was removed", map[string]string{v[0].Version: ""})
}
