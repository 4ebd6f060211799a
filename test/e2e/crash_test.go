//go:build linux

package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/emulator"
)

// crashVersion is one version of a certificate as the test made it.
type crashVersion struct {
	version, thumbprint string
	enabled             bool
}

// crashCert is one observed certificate and its versions, oldest first.
type crashCert struct {
	name     string
	versions []crashVersion
	// madeAt is when the last create or rotate returned: the next version
	// is made in a later second, so that creation order alone says which
	// is newest (same-second versions have their own test).
	madeAt time.Time
}

// newestUsable is the version akvvm must make current.
func (c *crashCert) newestUsable() crashVersion {
	for _, v := range slices.Backward(c.versions) {
		if v.enabled {
			return v
		}
	}
	return crashVersion{}
}

// withdrawn returns the versions newer than the newest usable one: their
// files must be gone after two passes.
func (c *crashCert) withdrawn() []string {
	var out []string
	for _, v := range slices.Backward(c.versions) {
		if v.enabled {
			break
		}
		out = append(out, v.version)
	}
	return out
}

func (c *crashCert) thumbprint(version string) (string, bool) {
	for _, v := range c.versions {
		if v.version == version {
			return v.thumbprint, true
		}
	}
	return "", false
}

const crashVault = "crashvault"

// akvvm run is killed with SIGKILL at random moments while certificates
// rotate and versions are disabled and enabled again. At every kill the
// files under their final names are complete; after the next complete pass
// (sync --once, or a restarted akvvm run) no temporary file is left in the
// store or the state directory and every link is at its newest usable
// version, and every certificate's record lists exactly its version files
// and its link; at the end only the versions akvvm keeps remain.
//
// AKVVM_CRASH_SEED=<n> replays the choices of a logged run (the timing of
// the processes still differs).
func TestKillNineDuringRunLeavesConsistentStore(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("AKVVM_CRASH_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("AKVVM_CRASH_SEED=%q: %v", s, err)
		}
		seed = n
	}
	t.Logf("seed %d (AKVVM_CRASH_SEED=%d replays it)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x6b696c6c))

	// The loop stops after 50 kills or 45 s, whichever comes first, and
	// earlier when the test's own deadline is near.
	end := time.Now().Add(45 * time.Second)
	if dl, ok := t.Deadline(); ok && dl.Add(-30*time.Second).Before(end) {
		end = dl.Add(-30 * time.Second)
	}

	e := startEmulator(t, crashVault)
	b := newBox(t)
	specs := []emulator.CertificateSpec{
		{KeyType: "EC-P256"},
		{KeyType: "EC-P256", ContentType: "pem"},
		{KeyType: "RSA-2048"},
		{KeyType: "EC-P384", ContentType: "pem"},
		{KeyType: "EC-P256", SelfSigned: true},
	}
	certs := make([]*crashCert, len(specs))
	var observed []map[string]any
	var keys []string
	for i, spec := range specs {
		c := &crashCert{name: fmt.Sprintf("c%d", i)}
		v := e.create(t, crashVault, c.name, spec)
		c.versions = []crashVersion{{version: v.Version, thumbprint: v.Thumbprint, enabled: true}}
		c.madeAt = time.Now()
		certs[i] = c
		observed = append(observed, map[string]any{"url": "https://" + crashVault + ".vault.azure.net/secrets/" + c.name})
		keys = append(keys, crashVault+"."+c.name)
	}
	// The restarted service polls hourly, so that once its first pass is
	// done it writes nothing more until it is killed; the killed one polls
	// every second, as often as the settings allow.
	b.writeSettingsWith(t, e, nil, nil, observed...)
	hourly := filepath.Join(b.dir, "settings-hourly.json")
	if err := os.Rename(b.settings, hourly); err != nil {
		t.Fatal(err)
	}
	b.writeSettingsWith(t, e, map[string]any{"pollingIntervalInS": "1"}, nil, observed...)
	if err := os.MkdirAll(b.state, 0o755); err != nil {
		t.Fatal(err)
	}
	b.mustSync(t, e, "first sync")

	var lastRun string // output of the last akvvm run, for a failure
	defer func() {
		if t.Failed() && lastRun != "" {
			t.Logf("output of the last akvvm run:\n%s", lastRun)
		}
	}()
	kills := 0
	for i := 0; i < 50 && time.Now().Before(end); i++ {
		changes := crashChanges(t, e, rng, certs)
		delay := time.Duration(rng.IntN(401)) * time.Millisecond
		where := fmt.Sprintf("kill %d (seed %d, after %v; vault changes: %s)", i+1, seed, delay, changes)

		out := b.runAndKill(t, e, b.settings, delay, nil)
		lastRun = out
		kills++
		checkAfterKill(t, b, keys, certs, where)

		if i%2 == 0 {
			out, code := b.sync(t, e)
			if code != 0 {
				t.Errorf("%s: sync --once after the kill: exit %d:\n%s", where, code, out)
			}
		} else {
			// The restarted service must itself finish what the killed
			// one left: wait for its first complete pass, then kill it too.
			started := time.Now()
			var err error
			lastRun = b.runAndKill(t, e, hourly, 0, func() { err = b.waitPass(started, len(certs), end.Add(15*time.Second)) })
			if err != nil {
				t.Errorf("%s: the restarted akvvm run: %v", where, err)
			}
		}
		checkRecovered(t, b, keys, certs, where)
		if t.Failed() {
			t.Fatalf("stopped at %s", where)
		}
	}
	t.Logf("%d kills", kills)

	// Two clean passes: what akvvm keeps and nothing else.
	for range 2 {
		b.mustSync(t, e, "final sync")
	}
	checkRecovered(t, b, keys, certs, "after the final passes")
	view, err := viewStore(b.store, keys)
	if err != nil {
		t.Error(err)
	}
	for i, c := range certs {
		have := view.versions[keys[i]]
		if len(have) > 2 {
			t.Errorf("%s: %d version files %v after clean passes, want at most 2", c.name, len(have), have)
		}
		if !slices.Contains(have, c.newestUsable().version) {
			t.Errorf("%s: the newest usable version %s has no file (have %v)", c.name, c.newestUsable().version, have)
		}
		for _, w := range c.withdrawn() {
			if slices.Contains(have, w) {
				t.Errorf("%s: the withdrawn version %s still has a file after two clean passes", c.name, w)
			}
		}
	}
}

// crashChanges changes the vault before a kill: some certificates get a
// new version, some lose their newest version to a disable (never the last
// usable one), some get a disabled version back. It returns what it did.
func crashChanges(t *testing.T, e *emu, rng *rand.Rand, certs []*crashCert) string {
	t.Helper()
	var did []string
	for _, c := range certs {
		switch r := rng.IntN(10); {
		case r < 4 && time.Now().Unix() > c.madeAt.Unix():
			v := e.rotate(t, crashVault, c.name)
			c.versions = append(c.versions, crashVersion{version: v.Version, thumbprint: v.Thumbprint, enabled: true})
			c.madeAt = time.Now()
			did = append(did, c.name+" rotated")
		case r == 4:
			enabled := 0
			for _, v := range c.versions {
				if v.enabled {
					enabled++
				}
			}
			if enabled < 2 {
				continue
			}
			for i := len(c.versions) - 1; i >= 0; i-- {
				if c.versions[i].enabled {
					e.setEnabled(t, crashVault, c.name, c.versions[i].version, false)
					c.versions[i].enabled = false
					did = append(did, c.name+" newest disabled")
					break
				}
			}
		case r == 5:
			for i := len(c.versions) - 1; i >= 0; i-- {
				if !c.versions[i].enabled {
					e.setEnabled(t, crashVault, c.name, c.versions[i].version, true)
					c.versions[i].enabled = true
					did = append(did, c.name+" re-enabled")
					break
				}
			}
		}
	}
	if len(did) == 0 {
		return "none"
	}
	return strings.Join(did, ", ")
}

// runAndKill starts akvvm run with settings, lets it run for delay (and
// until ready returns, when not nil), kills it with SIGKILL and returns its
// output.
func (b *box) runAndKill(t *testing.T, e *emu, settings string, delay time.Duration, ready func()) string {
	t.Helper()
	args := append([]string{"run", "--settings", settings, "--state-dir", b.state}, e.agentArgs()...)
	cmd := exec.Command(binary, args...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(delay)
	if ready != nil {
		ready()
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return out.String()
}

// waitPass waits until the status file shows a pass over all n
// certificates that started after since, or until deadline.
func (b *box) waitPass(since time.Time, n int, deadline time.Time) error {
	for {
		s, err := b.statusFile()
		done := 0
		if err == nil && s.Updated.After(since) {
			for _, c := range s.Certificates {
				if c.LastCheck.After(since) {
					done++
				}
			}
		}
		if done == n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no complete pass since %s (%d of %d certificates checked; status: %v)", since.Format(time.RFC3339Nano), done, n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkAfterKill checks what must hold at any moment, even right after a
// SIGKILL: every file under a final name is complete and the version it is
// named after, and every link resolves to one of them.
func checkAfterKill(t *testing.T, b *box, keys []string, certs []*crashCert, where string) {
	t.Helper()
	view, err := viewStore(b.store, keys)
	if err != nil {
		t.Errorf("%s: %v", where, err)
	}
	for i, c := range certs {
		for _, v := range view.versions[keys[i]] {
			thumb, known := c.thumbprint(v)
			if !known {
				t.Errorf("%s: %s has a file for version %s, which the vault never had", where, c.name, v)
				continue
			}
			if err := checkVersionFile(filepath.Join(b.store, keys[i]+"."+v), thumb); err != nil {
				t.Errorf("%s: %v", where, err)
			}
		}
		target, ok := view.links[keys[i]]
		if !ok {
			t.Errorf("%s: %s has no link (it was installed before the first kill)", where, c.name)
			continue
		}
		if _, err := os.Stat(filepath.Join(b.store, keys[i])); err != nil {
			t.Errorf("%s: the link of %s does not resolve: %v", where, c.name, err)
		}
		if v := strings.TrimPrefix(target, keys[i]+"."); v == target || !slices.Contains(view.versions[keys[i]], v) {
			t.Errorf("%s: the link of %s points at %s, not at one of its version files", where, c.name, target)
		}
	}
}

// checkRecovered checks what must hold once a pass completed after a kill:
// everything checkAfterKill checks, no temporary file in the store, its
// records directory or the state directory, every link at its newest
// usable version, and records that match the store (checkRecords): no
// version file unrecorded, no recorded version without its file.
func checkRecovered(t *testing.T, b *box, keys []string, certs []*crashCert, where string) {
	t.Helper()
	checkAfterKill(t, b, keys, certs, where)
	view, err := viewStore(b.store, keys)
	if err != nil {
		return // reported by checkAfterKill
	}
	if len(view.temps) > 0 {
		t.Errorf("%s: temporary files left in the store after a complete pass: %v", where, view.temps)
	}
	temps, err := stateTemps(b.state)
	if err != nil {
		t.Errorf("%s: %v", where, err)
	}
	if len(temps) > 0 {
		t.Errorf("%s: temporary files left in the state directory after a complete pass: %v", where, temps)
	}
	for i, c := range certs {
		want := keys[i] + "." + c.newestUsable().version
		if got := view.links[keys[i]]; got != want {
			t.Errorf("%s: after a complete pass the link of %s points at %s, want the newest usable version %s", where, c.name, got, want)
		}
	}
	recTemps, pending, err := checkRecords(b.store, view, keys)
	if err != nil {
		t.Errorf("%s: after a complete pass the records do not match the store:\n%v", where, err)
	}
	if len(recTemps) > 0 {
		t.Errorf("%s: temporary files left in %s after a complete pass: %v", where, recordsDirName, recTemps)
	}
	if len(pending) > 0 {
		t.Logf("%s: pending record entries without their file after a complete pass: %v", where, pending)
	}
}
