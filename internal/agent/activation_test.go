package agent

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/store"
)

// installTimes records when each version became current, on the agent's clock.
type installTimes struct {
	mu    sync.Mutex
	clock *fakeClock
	at    map[string]time.Time
}

func (r *installTimes) Notify(_ context.Context, e Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.at == nil {
		r.at = map[string]time.Time{}
	}
	r.at[e.Installed.Version] = r.clock.Now()
	return nil
}

func (r *installTimes) get(version string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.at[version]
	return t, ok
}

// runFor runs the agent on its fake clock until d has passed.
func runFor(t *testing.T, h *harness, a *Agent, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.clock = stopClock{fakeClock: h.clock, end: h.clock.Now().Add(d), cancel: cancel}
	if err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestActivationDelayHoldsANewVersionUntilItsRelease: a new version stays
// pending while the installed one stays current, the status says until
// when, and the agent checks again exactly at the release, not an
// interval later.
func TestActivationDelayHoldsANewVersionUntilItsRelease(t *testing.T) {
	for _, tc := range []struct {
		name    string
		delay   time.Duration
		edit    func(h *harness, v *keyvault.Version)
		release time.Duration // after v2's creation
		why     string
	}{
		{"activation delay", 90 * time.Second, nil, 90 * time.Second, "(activationDelayInS 1m30s after its creation at "},
		{"nbf ahead", 0, func(h *harness, v *keyvault.Version) { v.NotBefore = h.clock.Now().Add(2 * time.Minute) }, 2 * time.Minute, "(not valid before "},
		{"nbf later than the delay", 30 * time.Second, func(h *harness, v *keyvault.Version) { v.NotBefore = h.clock.Now().Add(5 * time.Minute) }, 5 * time.Minute, "(not valid before "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.spec.Certificates[0].ActivationDelay = tc.delay
			h.addVersion(t, "v1", 24*time.Hour)
			rec := &installTimes{clock: h.clock}
			a := h.agent(t, func(d *Deps) { d.Notifiers = []Notifier{rec} })
			if st := a.SyncOnce(context.Background()); st.Certificates[0].InstalledVersion != "v1" {
				t.Fatalf("first sync: %+v", st.Certificates[0])
			}

			h.clock.Advance(10 * time.Minute)
			created := h.clock.Now()
			h.addVersion(t, "v2", 0)
			if tc.edit != nil {
				h.src.edit("web", "v2", func(v *keyvault.Version) { tc.edit(h, v) })
			}
			release := created.Add(tc.release)
			st := a.SyncOnce(context.Background())
			c := st.Certificates[0]
			if c.InstalledVersion != "v1" || c.LastError != "" || h.store.versions(h.ref)[0] != "v1" {
				t.Fatalf("v2 not held: current %s, error %q, store %v", c.InstalledVersion, c.LastError, h.store.versions(h.ref))
			}
			want := "version v2 pending until " + stamp(release) + " " + tc.why
			if !strings.HasPrefix(c.Pending, want) || !strings.HasSuffix(c.Pending, "; version v1 stays current until then") || !c.PendingUntil.Equal(release) {
				t.Errorf("pending %q until %s\nwant %q… until %s", c.Pending, c.PendingUntil, want, release)
			}
			if !c.NextCheck.Equal(release) {
				t.Errorf("next check %s, want the release %s", c.NextCheck, release)
			}
			if !strings.Contains(st.Message, "v/web: version v2 pending until "+stamp(release)) || st.Phase != Success {
				t.Errorf("phase %s, message %q", st.Phase, st.Message)
			}
			if strings.Contains(c.Notice, "v2") {
				t.Errorf("notice %q: a pending version is not unused", c.Notice)
			}

			runFor(t, h, a, 3*time.Hour)
			at, ok := rec.get("v2")
			if !ok || !at.Equal(release) {
				t.Errorf("v2 became current at %s (%v), want at its release %s", at, ok, release)
			}
			c = a.Status().Certificates[0]
			if c.InstalledVersion != "v2" || c.Pending != "" || !c.PendingUntil.IsZero() {
				t.Errorf("after the release: %+v", c)
			}
		})
	}
}

// TestActivationDelayHoldsAFirstInstall: with nothing installed, a version
// whose delay is ahead is not installed either; the certificate waits
// without failing (no attempts counted against the initial sync) and is
// installed at the release.
func TestActivationDelayHoldsAFirstInstall(t *testing.T) {
	h := newHarness(t)
	h.spec.Certificates[0].ActivationDelay = time.Hour
	h.addVersion(t, "v1", 20*time.Minute)
	release := h.clock.Now().Add(40 * time.Minute)
	rec := &installTimes{clock: h.clock}
	a := h.agent(t, func(d *Deps) { d.Notifiers = []Notifier{rec} })
	st := a.SyncOnce(context.Background())
	c := st.Certificates[0]
	if c.Installed() || h.store.installs != 0 || c.LastError != "" || c.Attempts != 0 || c.Fatal {
		t.Fatalf("first install not held: %+v", c)
	}
	if !strings.HasPrefix(c.Pending, "version v1 pending until "+stamp(release)+" (activationDelayInS 1h0m0s after its creation at ") ||
		strings.Contains(c.Pending, "stays current") || !c.NextCheck.Equal(release) {
		t.Errorf("pending %q, next check %s; want the release %s", c.Pending, c.NextCheck, release)
	}
	if st.Phase != Transitioning || !strings.Contains(st.Message, "waiting for v/web: version v1 pending until "+stamp(release)) {
		t.Errorf("phase %s, message %q", st.Phase, st.Message)
	}
	runFor(t, h, a, 2*time.Hour)
	if at, ok := rec.get("v1"); !ok || !at.Equal(release) {
		t.Errorf("v1 installed at %s (%v), want at its release %s", at, ok, release)
	}
	if st := a.Status(); st.Phase != Success || st.Certificates[0].Pending != "" {
		t.Errorf("after the release: %s %q, pending %q", st.Phase, st.Message, st.Certificates[0].Pending)
	}
}

// TestActivationDelayKeepsAnInstalledCurrentVersion: a version installed
// before the delay was configured stays current; the delay is for new
// versions only.
func TestActivationDelayKeepsAnInstalledCurrentVersion(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "v1", 24*time.Hour)
	a := h.agent(t, nil)
	a.SyncOnce(context.Background())
	h.addVersion(t, "v2", 0)
	a.SyncOnce(context.Background())
	h.spec.Certificates[0].ActivationDelay = time.Hour
	b := h.agent(t, nil)
	c := b.SyncOnce(context.Background()).Certificates[0]
	if c.InstalledVersion != "v2" || c.Pending != "" || h.store.versions(h.ref)[0] != "v2" {
		t.Errorf("installed v2 not kept current under a new delay: %+v, store %v", c, h.store.versions(h.ref))
	}
}

func TestHoldBack(t *testing.T) {
	now := t0
	v := func(id string, created, nbf time.Duration) keyvault.Version {
		out := keyvault.Version{Version: id, Enabled: true, Created: now.Add(created)}
		if nbf != 0 {
			out.NotBefore = now.Add(nbf)
		}
		return out
	}
	installed := []store.Installed{{Version: "a", Current: true}}
	for _, tc := range []struct {
		name     string
		listed   []keyvault.Version
		inst     []store.Installed
		delay    time.Duration
		eligible []string
		held     map[string]time.Duration // version: release after now
	}{
		{"no delay, nothing ahead", []keyvault.Version{v("a", -time.Hour, 0), v("b", -time.Minute, 0)}, installed, 0, []string{"b", "a"}, nil},
		{"delay holds the new one", []keyvault.Version{v("a", -time.Hour, 0), v("b", -time.Minute, 0)}, installed, 10 * time.Minute, []string{"a"},
			map[string]time.Duration{"b": 9 * time.Minute}},
		{"delay passed", []keyvault.Version{v("a", -time.Hour, 0), v("b", -11*time.Minute, 0)}, installed, 10 * time.Minute, []string{"b", "a"}, nil},
		{"installed versions are exempt", []keyvault.Version{v("a", -time.Minute, 0)}, installed, time.Hour, []string{"a"}, nil},
		{"nbf ahead", []keyvault.Version{v("a", -time.Hour, 0), v("b", -time.Minute, time.Hour)}, installed, 0, []string{"a"},
			map[string]time.Duration{"b": time.Hour}},
		{"overtaken by a newer version released earlier", []keyvault.Version{v("a", -time.Hour, 0), v("b", -2*time.Minute, time.Hour), v("c", -time.Minute, 0)}, installed, 5 * time.Minute, []string{"a"},
			map[string]time.Duration{"c": 4 * time.Minute}},
		{"a newer version released later stays held too", []keyvault.Version{v("a", -time.Hour, 0), v("b", -2*time.Minute, 0), v("c", -time.Minute, time.Hour)}, installed, 5 * time.Minute, []string{"a"},
			map[string]time.Duration{"b": 3 * time.Minute, "c": time.Hour}},
		{"same second as the current one", []keyvault.Version{v("a", -time.Hour, 0), v("0", -time.Hour, time.Minute)}, installed, 0, []string{"a"},
			map[string]time.Duration{"0": time.Minute}},
		{"older than the current one", []keyvault.Version{v("b", -2*time.Hour, time.Hour), v("a", -time.Hour, 0)}, installed, 0, []string{"a"}, nil},
		{"disabled is not pending", []keyvault.Version{v("a", -time.Hour, 0), func() keyvault.Version { x := v("b", -time.Minute, 0); x.Enabled = false; return x }()}, installed, time.Hour, []string{"a"}, nil},
		{"expires before its release", []keyvault.Version{v("a", -time.Hour, 0), func() keyvault.Version { x := v("b", -time.Minute, 0); x.Expires = now.Add(time.Minute); return x }()}, installed, time.Hour, []string{"a"}, nil},
		{"nothing installed", []keyvault.Version{v("b", -time.Minute, 0)}, nil, time.Hour, []string{},
			map[string]time.Duration{"b": 59 * time.Minute}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eligible, held := holdBack(keyvault.Newest(tc.listed, now, len(tc.listed)), tc.listed, tc.inst, tc.delay, now)
			got := []string{}
			for _, e := range eligible {
				got = append(got, e.Version)
			}
			if !reflect.DeepEqual(got, tc.eligible) {
				t.Errorf("eligible %v, want %v", got, tc.eligible)
			}
			gotHeld := map[string]time.Duration{}
			for i, hv := range held {
				gotHeld[hv.version.Version] = hv.until.Sub(now)
				if i > 0 && !held[i-1].until.Before(hv.until) {
					t.Errorf("held not in release order: %v", held)
				}
			}
			if len(tc.held) == 0 && len(held) == 0 {
				return
			}
			if !reflect.DeepEqual(gotHeld, tc.held) {
				t.Errorf("held %v, want %v", gotHeld, tc.held)
			}
		})
	}
}

// A check due at a release does not join an earlier pass: it would find
// the version still held and cost a listing for nothing.
func TestReleaseIsNotCheckedEarly(t *testing.T) {
	last := t0
	release := t0.Add(time.Hour)
	st := CertStatus{LastCheck: last, NextCheck: release, PendingUntil: release, InstalledVersion: "v1"}
	if got := dueAt(&st); !got.Equal(release) {
		t.Errorf("due at %s, want the release %s", got, release)
	}
	st.PendingUntil = time.Time{}
	if got := dueAt(&st); !got.Before(release) {
		t.Errorf("without a release: due at %s, want the usual early start", got)
	}
}
