package agent

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

const day = 24 * time.Hour

// warnLines returns the WARN lines of logs that contain word.
func warnLines(logs *lockedBuffer, word string) []string {
	var out []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, word) {
			out = append(out, line)
		}
	}
	return out
}

// addValid adds a version whose leaf is valid from notBefore to notAfter;
// the fake vault lists no validity attributes, so it is usable.
func (h *harness) addValid(t *testing.T, version string, age time.Duration, notBefore, notAfter time.Time) {
	t.Helper()
	h.src.add("web", version, h.pki.leafPEMValid(t, "web.example.com", false, notBefore, notAfter), h.clock.Now().Add(-age))
}

// An installed version expiring within the warning time, with nothing newer
// in the vault, is a warning in the status and one WARN line per pass; a
// newer usable version clears it.
func TestExpiringCertificateWarnsUntilANewerVersion(t *testing.T) {
	h := newHarness(t)
	h.addValid(t, "v1", time.Hour, t0.Add(-80*day), t0.Add(10*day))
	var logs lockedBuffer
	a := h.agent(t, func(d *Deps) { d.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })

	st := a.SyncOnce(context.Background())
	c := st.Certificates[0]
	want := "version v1 expires on 2026-12-06T12:00:00Z (in 10 days) and the vault offers no newer usable version"
	if st.Phase != Success || !strings.Contains(c.ValidityWarning, want) {
		t.Fatalf("phase %s, warning %q; want success and %q", st.Phase, c.ValidityWarning, want)
	}
	if !strings.Contains(st.Message, "warning: v/web: "+want) {
		t.Errorf("message %q does not name the certificate and the date", st.Message)
	}
	if !c.NotBefore.Equal(t0.Add(-80 * day)) {
		t.Errorf("notBefore = %s", c.NotBefore)
	}
	if got := warnLines(&logs, "expires soon"); len(got) != 1 || !strings.Contains(got[0], "certificate=v/web") {
		t.Fatalf("first pass: WARN lines %q, want one naming v/web", got)
	}
	h.clock.Advance(time.Hour)
	a.SyncOnce(context.Background())
	if got := warnLines(&logs, "expires soon"); len(got) != 2 {
		t.Fatalf("two passes: %d WARN lines, want one per pass", len(got))
	}

	h.clock.Advance(time.Minute)
	h.addValid(t, "v2", 0, t0, t0.Add(365*day))
	st = a.SyncOnce(context.Background())
	if c := st.Certificates[0]; c.InstalledVersion != "v2" || c.ValidityWarning != "" || strings.Contains(st.Message, "warning") {
		t.Fatalf("after v2: version %s, warning %q, message %q; want v2 and no warning", c.InstalledVersion, c.ValidityWarning, st.Message)
	}
	if got := warnLines(&logs, "expires soon"); len(got) != 2 {
		t.Errorf("the pass that installed v2 logged an expiry WARN: %d lines", len(got))
	}
}

// A version with a long remaining lifetime does not warn; the setting
// replaces the default.
func TestExpiryWarningSetting(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setting time.Duration
		warn    bool
	}{
		{"default: 10 days left of 90 warns", 0, true},
		{"setting of 7 days: 10 days left does not warn", 7 * day, false},
		{"setting of 14 days warns", 14 * day, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.spec.ExpiryWarning = tc.setting
			h.addValid(t, "v1", time.Hour, t0.Add(-80*day), t0.Add(10*day))
			st := h.agent(t, nil).SyncOnce(context.Background())
			if got := st.Certificates[0].ValidityWarning != ""; got != tc.warn {
				t.Errorf("warning %q, want warning: %v", st.Certificates[0].ValidityWarning, tc.warn)
			}
		})
	}
	h := newHarness(t)
	h.addVersion(t, "v1", time.Hour) // 180 days left
	if st := h.agent(t, nil).SyncOnce(context.Background()); st.Certificates[0].ValidityWarning != "" {
		t.Errorf("180 days left: warning %q", st.Certificates[0].ValidityWarning)
	}
}

func TestExpiryThreshold(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setting time.Duration
		life    time.Duration
		want    time.Duration
	}{
		{"a year: 30 days", 0, 365 * day, 30 * day},
		{"30 days: a third", 0, 30 * day, 10 * day},
		{"90 days: both 30", 0, 90 * day, 30 * day},
		{"unknown start: 30 days", 0, 0, 30 * day},
		{"setting wins", 2 * day, 30 * day, 2 * day},
	} {
		na := t0.Add(time.Hour)
		nb := na.Add(-tc.life)
		if tc.life == 0 {
			nb = time.Time{}
		}
		if got := ExpiryThreshold(tc.setting, nb, na); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Installing an expired or not yet valid version logs one WARN in that
// pass and shows in the status.
func TestInstallingAVersionOutsideItsValidityWarns(t *testing.T) {
	for _, tc := range []struct {
		name, kind, text string
		nb, na           time.Time
	}{
		{"expired", "installed a version that has expired", "version v1 expired on 2025-11-16T12:00:00Z (375 days ago)",
			t0.Add(-740 * day), t0.Add(-375 * day)},
		{"not valid yet", "installed a version that is not valid yet", "version v1 is not valid before 2026-11-28T12:00:00Z (in 2 days)",
			t0.Add(2 * day), t0.Add(365 * day)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.addValid(t, "v1", time.Hour, tc.nb, tc.na)
			var logs lockedBuffer
			a := h.agent(t, func(d *Deps) { d.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
			st := a.SyncOnce(context.Background())
			c := st.Certificates[0]
			if c.InstalledVersion != "v1" || !strings.Contains(c.ValidityWarning, tc.text) {
				t.Fatalf("version %q warning %q, want v1 and %q", c.InstalledVersion, c.ValidityWarning, tc.text)
			}
			if got := warnLines(&logs, "certificate=v/web"); len(got) != 1 || !strings.Contains(got[0], tc.kind) {
				t.Fatalf("WARN lines %q, want one saying %q", got, tc.kind)
			}
			h.clock.Advance(time.Hour)
			a.SyncOnce(context.Background())
			if got := warnLines(&logs, "certificate=v/web"); len(got) != 2 {
				t.Errorf("the next pass logged %d WARN lines in all, want 2", len(got))
			}
		})
	}
}

// A pinned version says to pin a newer one.
func TestExpiringPinnedVersionSaysToPinANewerOne(t *testing.T) {
	h := newHarness(t)
	h.addValid(t, "v1", time.Hour, t0.Add(-80*day), t0.Add(5*day))
	h.spec.Certificates[0].PinnedVersion = "v1"
	st := h.agent(t, nil).SyncOnce(context.Background())
	if w := st.Certificates[0].ValidityWarning; !strings.Contains(w, "in 5 days) and the version is pinned") {
		t.Errorf("warning %q", w)
	}
}
