package agent

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/store"
)

// plan is what one sync changes in the store to reach the vault's truth.
type plan struct {
	// install are the wanted versions that are missing, oldest first: each
	// becomes current in turn, so the last one ends current.
	install []keyvault.Version
	// current is an installed version to make current again ("" for none).
	current string
	// rollback says the new current version (made current again, or the
	// last one installed) replaces a current version the vault withdrew.
	rollback bool
	// remove are installed versions to delete once the rest is done.
	remove []string
	// withdrawn are the installed versions the vault no longer offers.
	withdrawn []withdrawal
	// kept are withdrawn versions left in place, with why.
	kept []withdrawal
}

// withdrawal is an installed version that the vault withdrew.
type withdrawal struct {
	Version string
	// Reason says how: disabled, expired, not valid yet, or not listed.
	Reason string
	// Created is when the vault created it; zero when it is not listed.
	Created time.Time
	// Installed says akvvm installed it (otherwise it is a newer listed
	// version that is not usable).
	Installed bool
	// InstalledAt is when akvvm installed it.
	InstalledAt time.Time
}

// withdrawals returns the installed versions that are not usable in the
// vault's listing at now, with the reason of each, and the newest listed
// version when it is not usable and newer than newest: a withdrawal that
// stays true, and shown, after the withdrawn version was removed.
func withdrawals(installed []store.Installed, listed []keyvault.Version, newest keyvault.Version, now time.Time) []withdrawal {
	var out []withdrawal
	for _, in := range installed {
		i := slices.IndexFunc(listed, func(v keyvault.Version) bool { return v.Version == in.Version })
		w := withdrawal{Version: in.Version, Installed: true, InstalledAt: in.InstalledAt}
		if i < 0 {
			w.Reason = "no longer listed by the vault"
			out = append(out, w)
			continue
		}
		if w.Reason = listed[i].Unusable(now); w.Reason != "" {
			w.Created = listed[i].Created
			out = append(out, w)
		}
	}
	var top *keyvault.Version
	for i, v := range listed {
		if top == nil || v.Created.After(top.Created) || (v.Created.Equal(top.Created) && v.Version > top.Version) {
			top = &listed[i]
		}
	}
	if top != nil && top.Created.After(newest.Created) && !slices.ContainsFunc(out, func(w withdrawal) bool { return w.Version == top.Version }) {
		if reason := top.Unusable(now); reason != "" {
			out = append(out, withdrawal{Version: top.Version, Reason: reason, Created: top.Created})
		}
	}
	return out
}

// decide computes the plan that converges installed (current first, as
// store.List returns it) to wanted (newest usable first, never empty).
// withdrawn are the installed versions the vault withdrew. keep bounds the
// installed versions (0 keeps every usable one); withdrawn ones are always
// removed once the current version is usable, except that with deferOld
// the version replaced in this sync stays until the next one, so that
// applications following the renewal link from it (IIS on Windows) can
// still read that link.
func decide(installed []store.Installed, wanted []keyvault.Version, withdrawn []withdrawal, keep int, deferOld bool) plan {
	var p plan
	p.withdrawn = withdrawn
	has := func(version string) bool {
		return slices.ContainsFunc(installed, func(i store.Installed) bool { return i.Version == version })
	}
	current := ""
	if len(installed) > 0 && installed[0].Current {
		current = installed[0].Version
	}
	target := wanted[0].Version
	// A rollback replaces a withdrawn current version by one the vault
	// created no later than it (not by a newer version that came with
	// the withdrawal).
	if i := slices.IndexFunc(withdrawn, func(w withdrawal) bool { return w.Version == current }); i >= 0 {
		w := withdrawn[i]
		since := w.Created
		if since.IsZero() { // not listed any more: compare with when it came
			since = w.InstalledAt
		}
		p.rollback = !wanted[0].Created.After(since)
	}
	switch {
	case !has(target):
		for _, v := range slices.Backward(wanted) {
			if !has(v.Version) {
				p.install = append(p.install, v)
			}
		}
	case current != target:
		p.current = target
	default:
		p.rollback = false
	}
	moved := len(p.install) > 0 || p.current != ""

	// The versions installed after this plan, current first: the target,
	// the other versions it installs, newest first, then the rest in the
	// store's order.
	after := []string{target}
	for _, v := range slices.Backward(p.install) {
		if v.Version != target {
			after = append(after, v.Version)
		}
	}
	for _, in := range installed {
		if in.Version != target {
			after = append(after, in.Version)
		}
	}
	kept := 1 // the target
	for _, v := range after[1:] {
		i := slices.IndexFunc(withdrawn, func(w withdrawal) bool { return w.Version == v })
		switch {
		case i >= 0 && deferOld && moved && v == current:
			w := withdrawn[i]
			w.Reason += "; removed at the next check, after applications followed the renewal link from it"
			p.kept = append(p.kept, w)
		case i >= 0:
			p.remove = append(p.remove, v)
		case keep > 0 && kept >= keep && has(v):
			p.remove = append(p.remove, v)
		default:
			kept++
		}
	}
	return p
}

// forget adds to the removals the recorded versions whose files are gone,
// unless the plan installs them again.
func (p *plan) forget(gone []string) {
	for _, v := range gone {
		reinstalled := slices.ContainsFunc(p.install, func(w keyvault.Version) bool { return w.Version == v })
		if !reinstalled && !slices.Contains(p.remove, v) {
			p.remove = append(p.remove, v)
		}
	}
}

// withdrawnLeft returns the withdrawn versions the plan meant to remove
// that are not among removed.
func (p *plan) withdrawnLeft(removed []store.Installed) []string {
	var left []string
	for _, w := range p.withdrawn {
		planned := slices.Contains(p.remove, w.Version)
		done := slices.ContainsFunc(removed, func(r store.Installed) bool { return r.Version == w.Version })
		if planned && !done {
			left = append(left, w.Version)
		}
	}
	return left
}

// describeKept says which withdrawn versions stay installed and why.
func describeKept(ws []withdrawal) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = fmt.Sprintf("%s (%s)", w.Version, w.Reason)
	}
	return strings.Join(parts, ", ")
}
