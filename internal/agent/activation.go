package agent

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/store"
)

// maxPendingShown bounds the versions the pending text names.
const maxPendingShown = 3

// heldVersion is a version the vault offers that may not become current yet.
type heldVersion struct {
	version keyvault.Version
	// until is its release: its nbf, or its creation plus the activation
	// delay, whichever is later.
	until time.Time
}

// pending is what a check held back: the versions newer than the newest
// releasable one that will become current at their release, earliest
// release first. Nil when nothing is held.
type pending []heldVersion

// next is the earliest release; zero when nothing is held.
func (p pending) next() time.Time {
	if len(p) == 0 {
		return time.Time{}
	}
	return p[0].until
}

// releaseAt is when v may become current with the activation delay: its
// nbf, or its creation in the vault plus delay, whichever is later.
func releaseAt(v keyvault.Version, delay time.Duration) time.Time {
	at := v.NotBefore
	if delay > 0 && !v.Created.IsZero() {
		if c := v.Created.Add(delay); c.After(at) {
			at = c
		}
	}
	return at
}

// released reports whether v may become current at now with the activation delay.
func released(v keyvault.Version, delay time.Duration, now time.Time) bool {
	return !now.Before(releaseAt(v, delay))
}

// holdBack applies the activation rule to usable, the usable versions
// newest first: a version not installed yet may become current only once
// its nbf has passed and delay has elapsed since its creation. An installed
// version passed that gate already and stays eligible (making it current
// again after a withdrawal is no new version). It returns the eligible
// versions, in order, and the held versions of listed that will become
// current at their release: enabled ones released before they expire,
// newer than the newest eligible version and not overtaken by a newer
// version released earlier. A held version created in the same second as
// the newest eligible one counts as newer: Key Vault stamps whole seconds,
// and at the release the vault is asked which of the two is current (see
// newest). The cost is linear in the listed versions.
func holdBack(usable, listed []keyvault.Version, installed []store.Installed, delay time.Duration, now time.Time) ([]keyvault.Version, pending) {
	has := func(version string) bool {
		return slices.ContainsFunc(installed, func(i store.Installed) bool { return i.Version == version })
	}
	eligible := usable
	if delay > 0 {
		eligible = make([]keyvault.Version, 0, len(usable))
		for _, v := range usable {
			if has(v.Version) || released(v, delay, now) {
				eligible = append(eligible, v)
			}
		}
	}
	var held []heldVersion
	for _, v := range listed {
		at := releaseAt(v, delay)
		switch {
		case !v.Enabled || has(v.Version) || !now.Before(at):
			continue
		case !v.Expires.IsZero() && !at.Before(v.Expires):
			continue // never valid after its release
		case len(eligible) > 0 && v.Created.Before(eligible[0].Created):
			continue // older than what is current: never becomes current
		}
		held = append(held, heldVersion{version: v, until: at})
	}
	// Newest first; a version released no earlier than a newer one never
	// becomes current, since the newer one is current by then.
	slices.SortFunc(held, func(a, b heldVersion) int {
		if newer(a.version, b.version) {
			return -1
		}
		return 1
	})
	var p pending
	for _, h := range held {
		if len(p) == 0 || h.until.Before(p[len(p)-1].until) {
			p = append(p, h)
		}
	}
	slices.Reverse(p)
	return eligible, p
}

// newer reports whether a was created after b (the larger version id
// first within one second, as keyvault.Newest orders them).
func newer(a, b keyvault.Version) bool {
	if !a.Created.Equal(b.Created) {
		return a.Created.After(b.Created)
	}
	return a.Version > b.Version
}

// text says what is held and until when, as status shows it: "version X
// pending until T (activationDelayInS 60s after its creation at C);
// version Y stays current until then". current is the installed current
// version, or "".
func (p pending) text(delay time.Duration, current string) string {
	if len(p) == 0 {
		return ""
	}
	parts := make([]string, 0, min(len(p), maxPendingShown)+1)
	for i, h := range p {
		if i == maxPendingShown {
			parts = append(parts, fmt.Sprintf("and %d more", len(p)-i))
			break
		}
		why := "not valid before " + stamp(h.version.NotBefore)
		if !h.until.Equal(h.version.NotBefore) {
			why = fmt.Sprintf("activationDelayInS %s after its creation at %s", delay, stamp(h.version.Created))
		}
		parts = append(parts, fmt.Sprintf("version %s pending until %s (%s)", h.version.Version, stamp(h.until), why))
	}
	msg := strings.Join(parts, "; ")
	if current != "" {
		msg += "; version " + current + " stays current until then"
	}
	return msg
}

// notWithdrawn drops from ws the held versions: a newer version that is
// not valid yet is pending, not withdrawn or unused.
func (p pending) notWithdrawn(ws []withdrawal) []withdrawal {
	if len(p) == 0 {
		return ws
	}
	return slices.DeleteFunc(ws, func(w withdrawal) bool {
		return !w.Installed && slices.ContainsFunc(p, func(h heldVersion) bool { return h.version.Version == w.Version })
	})
}

// notePending records in st what the check of c held back, and logs it
// when it changes. A check that failed before it saw the vault's listing
// keeps what the last one saw while that release is still ahead. The
// caller holds a.mu.
func (a *Agent) notePending(c CertSpec, st *CertStatus, res result, now time.Time) {
	switch {
	case res.pending != nil:
		text := res.pending.text(c.ActivationDelay, st.InstalledVersion)
		if text != st.Pending {
			h := res.pending[0]
			a.log.Info("newer version held until its release; the installed version stays current",
				"certificate", c.Key(), "version", h.version.Version, "until", h.until, "current", st.InstalledVersion, "pending", text)
		}
		st.Pending, st.PendingUntil = text, res.pending.next()
	case st.PendingUntil.After(now):
	default:
		st.Pending, st.PendingUntil = "", time.Time{}
	}
}

// byRelease brings next, the next check of st, forward to the release of
// its held version, so that the version becomes current on time rather
// than up to an interval later.
func byRelease(st *CertStatus, next time.Time) time.Time {
	if !st.PendingUntil.IsZero() && st.PendingUntil.Before(next) {
		return st.PendingUntil
	}
	return next
}
