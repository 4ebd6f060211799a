package agent

import (
	"math"
	"slices"
	"strings"
	"time"
	"unique"

	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/store"
)

// maxCachedVersions bounds the versions remembered per secret. A secret
// whose listing needs more to stand for it (a long run of newest versions
// that are disabled or expired) is not remembered and is listed every poll.
const maxCachedVersions = 16

// cachedSecret is the last listing of one secret's versions, cut to what
// can change a plan, with the vault listing's item seen before it.
type cachedSecret struct {
	// item is the vault listing's entry of the secret (its current
	// version's attributes) seen before the versions were listed;
	// itemKnown is false until a vault listing showed it.
	item      secretAttrs
	itemKnown bool
	// listed is how many versions the listing had.
	listed int
	// versions are the kept versions, newest first: every version down to
	// the need-th one usable when listed (with the versions of its
	// creation second), and every installed one.
	versions []cachedVersion
	// dropped says some listed versions were not kept; candidate says one
	// of them (enabled and not expired when listed) may be usable at a
	// time in [candFrom, candUntil).
	dropped             bool
	candidate           bool
	candFrom, candUntil int64
	// tooLong says the listing could not be kept within maxCachedVersions.
	tooLong bool
	// fullDue is when the versions must be listed in full again.
	fullDue time.Time
}

// secretAttrs are the attributes of one version as Key Vault lists them,
// times in Unix nanoseconds (noTime when absent): 56 bytes where
// keyvault.Version's times alone take 96.
type secretAttrs struct {
	enabled, managed                 bool
	notBefore, expires, created, upd int64
	contentType                      string
}

// cachedVersion is one kept version.
type cachedVersion struct {
	version string
	attrs   secretAttrs
}

// noTime stands for an absent time.
const noTime = math.MinInt64

func nanos(t time.Time) int64 {
	switch {
	case t.IsZero():
		return noTime
	case t.Year() < 1678:
		return noTime + 1
	case t.Year() > 2261:
		return math.MaxInt64
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == noTime {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// intern returns the one copy of a content type the process keeps.
func intern(s string) string { return unique.Make(s).Value() }

// itemAttrs are the attributes of a vault listing's item.
func itemAttrs(it keyvault.SecretItem) secretAttrs {
	return secretAttrs{enabled: it.Enabled, managed: it.Managed, notBefore: nanos(it.NotBefore), expires: nanos(it.Expires),
		created: nanos(it.Created), upd: nanos(it.Updated), contentType: intern(it.ContentType)}
}

func versionAttrs(v keyvault.Version) secretAttrs {
	return secretAttrs{enabled: v.Enabled, managed: v.Managed, notBefore: nanos(v.NotBefore), expires: nanos(v.Expires),
		created: nanos(v.Created), upd: nanos(v.Updated), contentType: intern(v.ContentType)}
}

// cost is how many requests listing the secret's versions takes.
func (e *cachedSecret) cost() int { return max(1, (e.listed+listPage-1)/listPage) }

// newestFirst orders versions as keyvault.Newest does: by creation time,
// then by version id, newest first.
func newestFirst(a, b keyvault.Version) int {
	if !a.Created.Equal(b.Created) {
		if a.Created.After(b.Created) {
			return -1
		}
		return 1
	}
	return strings.Compare(b.Version, a.Version)
}

// newCachedSecret cuts a listing to what can change a plan from now on
// for a certificate that wants need versions: newest first, every version
// down to the need-th one usable now (and the others of its creation
// second, so a tie is the same tie), plus the installed ones. A dropped
// version is older than all kept ones; the ones that are disabled or
// expired now can never become usable without a change the vault
// listing or the full listing shows, and for the others the window in
// which one may be usable is kept, so reuse knows when they could matter.
func newCachedSecret(vs []keyvault.Version, installed []store.Installed, need int, now time.Time) *cachedSecret {
	e := &cachedSecret{listed: len(vs)}
	order := slices.SortedStableFunc(slices.Values(vs), newestFirst)
	cut, usable := len(order), 0
	for i, v := range order {
		if usable >= need && !v.Created.Equal(order[i-1].Created) {
			cut = i
			break
		}
		if v.Usable(now) {
			usable++
		}
	}
	isInstalled := func(version string) bool {
		return slices.ContainsFunc(installed, func(in store.Installed) bool { return in.Version == version })
	}
	for i, v := range order {
		if i < cut || isInstalled(v.Version) {
			e.versions = append(e.versions, cachedVersion{version: v.Version, attrs: versionAttrs(v)})
			continue
		}
		e.dropped = true
		if !v.Enabled || (!v.Expires.IsZero() && !now.Before(v.Expires)) {
			continue // unusable for good
		}
		from, until := nanos(v.NotBefore), nanos(v.Expires)
		if v.Expires.IsZero() {
			until = math.MaxInt64
		}
		if !e.candidate || from < e.candFrom {
			e.candFrom = from
		}
		if !e.candidate || until > e.candUntil {
			e.candUntil = until
		}
		e.candidate = true
	}
	if len(e.versions) > maxCachedVersions {
		e.versions, e.tooLong = nil, true
	}
	return e
}

// reuse returns the kept versions as the listing of now when they stand
// for it: the vault listing's item is the one seen before the listing,
// the full re-check is not due, and no dropped version can matter — every
// installed version is kept, and enough kept versions are usable (or no
// dropped one can be usable now).
func (e *cachedSecret) reuse(vaultURL, name string, item secretAttrs, now time.Time, need int, installed []store.Installed) ([]keyvault.Version, bool) {
	if e.tooLong || !e.itemKnown || e.item != item || !now.Before(e.fullDue) {
		return nil, false
	}
	if e.dropped {
		for _, in := range installed {
			if !slices.ContainsFunc(e.versions, func(v cachedVersion) bool { return v.version == in.Version }) {
				return nil, false // installed meanwhile by another process, or forgotten: list
			}
		}
	}
	vs := make([]keyvault.Version, len(e.versions))
	usable := 0
	for i, v := range e.versions {
		vs[i] = v.toVersion(vaultURL, name)
		if vs[i].Usable(now) {
			usable++
		}
	}
	if e.dropped && usable == 0 {
		return nil, false // the error then counts what the vault lists
	}
	if t := now.UnixNano(); usable < need && e.candidate && t >= e.candFrom && t < e.candUntil {
		return nil, false
	}
	return vs, true
}

func (v cachedVersion) toVersion(vaultURL, name string) keyvault.Version {
	a := v.attrs
	return keyvault.Version{ID: strings.TrimSuffix(vaultURL, "/") + "/secrets/" + name + "/" + v.version, Version: v.version,
		Enabled: a.enabled, NotBefore: fromNanos(a.notBefore), Expires: fromNanos(a.expires), Created: fromNanos(a.created),
		Updated: fromNanos(a.upd), ContentType: a.contentType, Managed: a.managed}
}
