//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/emulator"
)

const actVault = "actvault"

// waitPending waits until the status file names version as pending and
// returns its release time.
func (b *box) waitPending(t *testing.T, key, version string) time.Time {
	t.Helper()
	var until time.Time
	waitFor(t, key+" version "+version+" pending", func() (bool, string) {
		s, err := b.statusFile()
		if err != nil {
			return false, err.Error()
		}
		for _, c := range s.Certificates {
			if c.Key == key {
				until = c.PendingUntil
				return strings.HasPrefix(c.Pending, "version "+version+" pending until ") && !until.IsZero(), c.Pending + " " + c.LastError
			}
		}
		return false, "no status for " + key
	})
	return until
}

// watchRelease polls the link until it names want and fails when that
// happens before release or more than a few seconds after it: the agent
// checks at the release, not an interval (here 5 minutes) later.
func (b *box) watchRelease(t *testing.T, link, want string, release time.Time) {
	t.Helper()
	var moved time.Time
	waitFor(t, "the link "+link+" to point at "+want, func() (bool, string) {
		target, _ := os.Readlink(filepath.Join(b.store, link))
		if filepath.Base(target) == want {
			moved = time.Now()
			return true, ""
		}
		return false, "points at " + filepath.Base(target)
	})
	if moved.Before(release) {
		t.Errorf("the link moved to %s at %s, before the release at %s", want, moved.Format(time.RFC3339Nano), release.Format(time.RFC3339))
	}
	if late := moved.Sub(release); late > 3*time.Second {
		t.Errorf("the link moved %v after the release at %s; the agent should check at the release", late.Round(time.Millisecond), release.Format(time.RFC3339))
	}
	t.Logf("%s: link moved %v after the release", want, moved.Sub(release).Round(time.Millisecond))
}

// akvvm run with activationDelayInS: the first version waits for its
// delay too (nothing installed, not an error); a rotated version is
// pending, named with its release in akvvm status, while the link stays on
// the installed version, and becomes current right at its release.
func TestActivationDelayHoldsThenReleases(t *testing.T) {
	t.Parallel()
	const delay = 4 * time.Second
	e := startEmulator(t, actVault)
	key, link := actVault+"/web", actVault+".web"
	v1 := e.create(t, actVault, "web", emulator.CertificateSpec{KeyType: "EC-P256"})
	b := newBox(t)
	b.writeSettingsWith(t, e, map[string]any{"pollingIntervalInS": "300", "activationDelayInS": "4"}, nil,
		map[string]any{"url": "https://" + actVault + ".vault.azure.net/secrets/web"})
	d := b.startRun(t, e)

	release := b.waitPending(t, key, v1.Version)
	if b.link(t, link) != "" {
		t.Errorf("the link exists before the first version's release")
	}
	s := b.status(t)
	if c := certStatus(t, s, key); c.Installed() || c.LastError != "" || c.Attempts != 0 ||
		!strings.Contains(s.Message, "waiting for "+key+": version "+v1.Version+" pending until "+release.UTC().Format(time.RFC3339)) {
		t.Errorf("first install held: %+v; message %q", c, s.Message)
	}
	b.watchRelease(t, link, link+"."+v1.Version, release)
	b.waitInstalled(t, key, v1.Version)

	nextSecond()
	v2 := e.rotate(t, actVault, "web")
	asked := time.Now()
	if out, code := akvvm(t, "sync", "--now", "--state-dir", b.state); code != 0 {
		t.Fatalf("sync --now: exit %d\n%s", code, out)
	}
	release = b.waitPending(t, key, v2.Version)
	if release.Before(asked.Add(delay-time.Second)) || release.After(asked.Add(delay)) {
		t.Errorf("v2 pending until %s; created about %s with a 4 s delay", release, asked)
	}
	if got := b.link(t, link); got != link+"."+v1.Version {
		t.Errorf("the link moved to %s while v2 is pending", got)
	}
	out, code := akvvm(t, "status", "--state-dir", b.state)
	want := "PENDING " + key + ": version " + v2.Version + " pending until " + release.UTC().Format(time.RFC3339) +
		" (activationDelayInS 4s after its creation at "
	if code != 0 || !strings.Contains(out, want) || !strings.Contains(out, "version "+v1.Version+" stays current until then") {
		t.Errorf("akvvm status (exit %d) does not show\n%s\n%s", code, want, out)
	}
	c := certStatus(t, b.status(t), key)
	if c.InstalledVersion != v1.Version || !c.NextCheck.Equal(release) {
		t.Errorf("while pending: installed %s, next check %s; want %s and the release %s", c.InstalledVersion, c.NextCheck, v1.Version, release)
	}
	b.watchRelease(t, link, link+"."+v2.Version, release)
	b.waitInstalled(t, key, v2.Version)
	if c := certStatus(t, b.status(t), key); c.Pending != "" || c.Thumbprint != v2.Thumbprint {
		t.Errorf("after the release: pending %q, thumbprint %s", c.Pending, c.Thumbprint)
	}
	d.stop(t)
}

// A new version whose nbf is ahead is held the same way without any
// activation delay, and becomes current at its nbf.
func TestFutureNotBeforeHoldsThenReleases(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, actVault)
	key, link := actVault+"/api", actVault+".api"
	v1 := e.create(t, actVault, "api", emulator.CertificateSpec{KeyType: "EC-P256"})
	b := newBox(t)
	b.writeSettingsWith(t, e, map[string]any{"pollingIntervalInS": "300"}, nil,
		map[string]any{"url": "https://" + actVault + ".vault.azure.net/secrets/api"})
	d := b.startRun(t, e)
	b.waitInstalled(t, key, v1.Version)

	nextSecond()
	nbf := time.Now().Truncate(time.Second).Add(6 * time.Second)
	v2 := e.create(t, actVault, "api", emulator.CertificateSpec{KeyType: "EC-P256", NotBefore: &nbf, Validity: emulator.Duration(30 * 24 * time.Hour)})
	if out, code := akvvm(t, "sync", "--now", "--state-dir", b.state); code != 0 {
		t.Fatalf("sync --now: exit %d\n%s", code, out)
	}
	release := b.waitPending(t, key, v2.Version)
	c := certStatus(t, b.status(t), key)
	if !release.Equal(nbf) || !strings.Contains(c.Pending, "(not valid before "+nbf.UTC().Format(time.RFC3339)+")") || c.Notice != "" {
		t.Errorf("pending %q until %s, notice %q; want until the nbf %s", c.Pending, release, c.Notice, nbf)
	}
	if got := b.link(t, link); got != link+"."+v1.Version {
		t.Errorf("the link moved to %s before v2's nbf", got)
	}
	b.watchRelease(t, link, link+"."+v2.Version, release)
	d.stop(t)
}
