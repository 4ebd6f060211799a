//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/emulator"
)

// test40Withdrawn follows the vault backwards and forwards in the real
// store of the Wine prefix, for each way a version is withdrawn (the
// withdrawals the Linux e2e test uses: disabled, expired, no longer
// listed), each case with a certificate of its own.
func (f *winFixture) test40Withdrawn(t *testing.T) {
	for i, w := range withdrawals {
		t.Run(w.name, func(t *testing.T) { f.withdrawn40(t, fmt.Sprintf("wdcase%d", i), w) })
	}
}

// withdrawn40: with two versions installed (4.0), the newest is withdrawn;
// one sync --once makes the previous one current again, the withdrawn one
// renews to it, event 1001 says Rollback and status names the withdrawn
// version. When the withdrawal can be undone (disabled, expired), undoing
// it while the withdrawn version is still installed makes it current
// again, and it is withdrawn once more. The check after removes it from
// the store. Then the certificate moves forward: to the withdrawn version
// itself, installed again, or (no longer listed) to a new version.
//
// The certificate's name holds no word the status check looks for.
func (f *winFixture) withdrawn40(t *testing.T, name string, w withdrawal) {
	spec := emulator.CertificateSpec{KeyType: "RSA-2048", DNSNames: []string{name + ".example.com"}}
	v0 := f.e.create(t, f.vault, name, spec)
	nextSecond()
	v1 := f.e.rotate(t, f.vault, name)
	all := []emulator.SecretVersion{v0, v1}
	settings := f.writeSettings(t, "settings40-"+name+".json", nil,
		map[string]any{"url": "https://" + f.vault + ".vault.azure.net/secrets/" + name, "certificateStoreName": "MY",
			"certificateStoreLocation": "LocalMachine"})
	state := filepath.Join(f.w.dir, "state40-"+name)
	sync := func(what string) string {
		t.Helper()
		return f.sync(t, what, settings, state, "--extra-roots", winPath(f.e.ready.CAFile))
	}
	// event requires event 1001 of kind from old to new in the trace.
	event := func(what, trace, kind string, old, new emulator.SecretVersion) {
		t.Helper()
		if !eventReported(trace, "Kind="+kind, "OldThumbprint="+old.Thumbprint, "NewThumbprint="+new.Thumbprint, "StoreName=MY", "StoreLocation=LocalMachine") {
			t.Errorf("%s: no event 1001 Kind=%s from %s (%s) to %s (%s); trace:\n%s", what, kind, old.Version, old.Thumbprint, new.Version, new.Thumbprint, trace)
		}
	}
	// links checks that exactly the versions in want are installed, each
	// with its renewal link: the thumbprint of the version it renews to,
	// "" for none; every other version of all is in no store.
	links := func(what string, want map[string]string) {
		t.Helper()
		d := f.w.dumpStores(t)
		got := d.versions("LocalMachine", "MY", f.vault, name)
		if len(got) != len(want) {
			t.Errorf("%s: LocalMachine\\MY holds %d versions of %s, want %d", what, len(got), name, len(want))
		}
		for _, sv := range all {
			l, ok := want[sv.Version]
			if !ok {
				if at := d.everywhere(sv.Thumbprint); len(at) > 0 {
					t.Errorf("%s: version %s should be gone but is in %v", what, sv.Version, at)
				}
				continue
			}
			f.checkInstalled(t, d, "LocalMachine", "MY", name, sv)
			if r := got[sv.Version].Renewal; r != strings.ToUpper(l) {
				t.Errorf("%s: version %s renewal link %q, want %q", what, sv.Version, r, strings.ToUpper(l))
			}
		}
	}
	// back withdraws v1 and requires one sync to go back to v0.
	back := func(what string) {
		t.Helper()
		w.withdraw(t, f.e, f.vault, name, v1)
		what = "sync after the newest version was " + what
		event(what, sync(what), "Rollback", v1, v0)
		// The withdrawn version stays until the next check and renews to the previous one.
		links(what, map[string]string{v0.Version: "", v1.Version: v0.Thumbprint})
		f.checkWithdrawnStatus(t, what, state, f.vault+"/"+name, v0, v1, w.words)
	}

	sync("initial sync of two versions")
	links("after the initial sync", map[string]string{v0.Version: v1.Thumbprint, v1.Version: ""})

	back(w.name)
	if w.reversible {
		// Usable again while still installed: current again, forwards.
		if got := w.forward(t, f.e, f.vault, name, v1); got.Version != v1.Version {
			t.Fatalf("the %s case brings back version %s, not the withdrawn %s", w.name, got.Version, v1.Version)
		}
		what := "sync after the withdrawn version was usable again"
		event(what, sync(what), "Renewal", v0, v1)
		links(what, map[string]string{v0.Version: v1.Thumbprint, v1.Version: ""})
		back(w.name + " again")
	}

	sync("the next check")
	links("after the withdrawn version was removed", map[string]string{v0.Version: ""})

	// Forwards again: the withdrawn version usable again (installed anew),
	// or a new one; either way the previous one renews to it.
	next := w.forward(t, f.e, f.vault, name, v1)
	if next.Version != v1.Version {
		all = append(all, next)
	}
	what := "sync after moving forward"
	event(what, sync(what), "Renewal", v0, next)
	links(what, map[string]string{v0.Version: next.Thumbprint, next.Version: ""})
	c := f.status(t, state, f.vault+"/"+name)
	if c.InstalledVersion != next.Version || !strings.EqualFold(c.Thumbprint, next.Thumbprint) || c.LastError != "" {
		t.Errorf("%s: status --json installed %s %s, last error %q; want %s %s and no error", what, c.InstalledVersion, c.Thumbprint, c.LastError, next.Version, next.Thumbprint)
	}
}

// checkWithdrawnStatus requires akvvm.exe status --json to show prev
// installed and a notice naming the withdrawn version, and both status
// forms to report it as withdrawn (checkWithdrawalStatus).
func (f *winFixture) checkWithdrawnStatus(t *testing.T, what, state, key string, prev, withdrawn emulator.SecretVersion, words []string) {
	t.Helper()
	statusJSON, table := f.statusOutputs(t, state)
	c := certStatusFrom(t, statusJSON, key)
	if c.InstalledVersion != prev.Version || !strings.EqualFold(c.Thumbprint, prev.Thumbprint) {
		t.Errorf("%s: status --json installed %s %s, want the previous version %s %s", what, c.InstalledVersion, c.Thumbprint, prev.Version, prev.Thumbprint)
	}
	if !strings.Contains(c.Notice, withdrawn.Version) {
		t.Errorf("%s: status --json notice %q does not name the withdrawn version %s", what, c.Notice, withdrawn.Version)
	}
	checkWithdrawalStatus(t, statusJSON, table, key, withdrawn.Version, words)
}

// status returns the status akvvm.exe status --json reports for key.
func (f *winFixture) status(t *testing.T, state, key string) agent.CertStatus {
	t.Helper()
	statusJSON, _ := f.statusOutputs(t, state)
	return certStatusFrom(t, statusJSON, key)
}

// statusOutputs returns the output of akvvm.exe status --json and of
// akvvm.exe status, run under Wine.
func (f *winFixture) statusOutputs(t *testing.T, state string) (statusJSON, table string) {
	t.Helper()
	run := func(args ...string) string {
		t.Helper()
		out, errOut, code := f.w.run(t, f.w.akvvm, append(args, "--state-dir", winPath(state))...)
		if code != 0 {
			t.Fatalf("akvvm.exe %s under Wine: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	return run("status", "--json"), run("status")
}

// certStatusFrom decodes akvvm status --json and returns key's entry.
func certStatusFrom(t *testing.T, statusJSON, key string) agent.CertStatus {
	t.Helper()
	var s agent.Status
	if err := json.Unmarshal([]byte(statusJSON), &s); err != nil {
		t.Fatalf("akvvm status --json: %v\n%s", err, statusJSON)
	}
	return certStatus(t, s, key)
}
