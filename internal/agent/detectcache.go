package agent

import (
	"encoding/hex"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/store"
)

// maxCachedVersions bounds the versions remembered per secret. A secret
// whose listing needs more to stand for it (a long run of newest versions
// that are disabled or expired) is not remembered and is listed every poll.
const maxCachedVersions = 16

// cachedSecret is the last listing of one secret's versions, cut to what
// can change a plan, with the vault listing's item seen before it. It is
// held by value in the detector's slab, and its first two versions inline:
// the cache of thousands of secrets is a few large blocks, not thousands
// of small objects scattered among a pass's garbage.
type cachedSecret struct {
	// item is the vault listing's entry of the secret (its current
	// version's attributes) seen before the versions were listed;
	// itemKnown is false until a vault listing showed it.
	item secretAttrs
	// candFrom, candUntil: a dropped version (enabled and not expired
	// when listed) may be usable at a time in [candFrom, candUntil).
	candFrom, candUntil int64
	// fullDue is when the versions must be listed in full again (Unix
	// nanoseconds).
	fullDue int64
	// listed is how many versions the listing had.
	listed int32
	// n counts the kept versions: newest first, every version down to the
	// need-th one usable when listed (with the versions of its creation
	// second), and every installed one; the first two in inline, the rest
	// in more.
	n      int32
	inline [2]cachedVersion
	more   []cachedVersion
	// dropped says some listed versions were not kept; candidate that one
	// of them may become usable (see candFrom).
	itemKnown, dropped, candidate bool
	// tooLong says the listing could not be kept within maxCachedVersions.
	tooLong bool
}

// kept returns the i-th kept version.
func (e *cachedSecret) kept(i int) *cachedVersion {
	if i < len(e.inline) {
		return &e.inline[i]
	}
	return &e.more[i-len(e.inline)]
}

// keep appends a kept version.
func (e *cachedSecret) keep(v cachedVersion) {
	if int(e.n) < len(e.inline) {
		e.inline[e.n] = v
	} else {
		e.more = append(e.more, v)
	}
	e.n++
}

// holds reports whether version is among the kept ones.
func (e *cachedSecret) holds(version string) bool {
	for i := range int(e.n) {
		if e.kept(i).is(version) {
			return true
		}
	}
	return false
}

// secretAttrs are the attributes of one version as Key Vault lists them,
// times in Unix nanoseconds (noTime when absent), the content type as an
// index into contentTypes: 40 bytes where keyvault.Version's times alone
// take 96.
type secretAttrs struct {
	notBefore, expires, created, upd int64
	contentType                      uint16
	enabled, managed                 bool
}

// cachedVersion is one kept version. Key Vault's version ids are 32
// lower-case hex digits, kept as 16 bytes (hex); any other id in full.
type cachedVersion struct {
	hex   [16]byte
	other string
	attrs secretAttrs
}

func newCachedVersion(v keyvault.Version) cachedVersion {
	cv := cachedVersion{attrs: versionAttrs(v)}
	if len(v.Version) != 32 || strings.ToLower(v.Version) != v.Version {
		cv.other = strings.Clone(v.Version) // not the listing's id string, which Version may be part of
		return cv
	}
	if _, err := hex.Decode(cv.hex[:], []byte(v.Version)); err != nil {
		cv.other = strings.Clone(v.Version)
	}
	return cv
}

// version returns the version id.
func (v *cachedVersion) version() string {
	if v.other != "" {
		return v.other
	}
	return hex.EncodeToString(v.hex[:])
}

// is reports whether the version's id is version, without allocating.
func (v *cachedVersion) is(version string) bool {
	if v.other != "" || len(version) != 32 {
		return v.other == version
	}
	var b [16]byte
	_, err := hex.Decode(b[:], []byte(version))
	return err == nil && b == v.hex && strings.ToLower(version) == version
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

// contentTypes are the content types seen, so a cached version holds a
// small index; a vault has a handful (PEM, PKCS #12). Past maxContentTypes
// distinct ones, a version's content type is not cached (tooMany).
var contentTypes struct {
	mu    sync.Mutex
	index map[string]uint16
	names []string
}

const maxContentTypes = 1024

// tooMany marks attributes whose content type is not in contentTypes.
const tooMany = math.MaxUint16

// contentTypeIndex returns the index of s in contentTypes, adding it.
func contentTypeIndex(s string) uint16 {
	contentTypes.mu.Lock()
	defer contentTypes.mu.Unlock()
	if i, ok := contentTypes.index[s]; ok {
		return i
	}
	if len(contentTypes.names) >= maxContentTypes {
		return tooMany
	}
	if contentTypes.index == nil {
		contentTypes.index = map[string]uint16{}
	}
	i := uint16(len(contentTypes.names))
	contentTypes.names = append(contentTypes.names, strings.Clone(s))
	contentTypes.index[contentTypes.names[i]] = i
	return i
}

func contentTypeName(i uint16) string {
	contentTypes.mu.Lock()
	defer contentTypes.mu.Unlock()
	return contentTypes.names[i]
}

// itemAttrs are the attributes of a vault listing's item.
func itemAttrs(it keyvault.SecretItem) secretAttrs {
	return secretAttrs{enabled: it.Enabled, managed: it.Managed, notBefore: nanos(it.NotBefore), expires: nanos(it.Expires),
		created: nanos(it.Created), upd: nanos(it.Updated), contentType: contentTypeIndex(it.ContentType)}
}

func versionAttrs(v keyvault.Version) secretAttrs {
	return secretAttrs{enabled: v.Enabled, managed: v.Managed, notBefore: nanos(v.NotBefore), expires: nanos(v.Expires),
		created: nanos(v.Created), upd: nanos(v.Updated), contentType: contentTypeIndex(v.ContentType)}
}

// cost is how many requests listing the secret's versions takes.
func (e *cachedSecret) cost() int { return max(1, (int(e.listed)+listPage-1)/listPage) }

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
func newCachedSecret(vs []keyvault.Version, installed []store.Installed, need int, now time.Time) cachedSecret {
	e := cachedSecret{listed: int32(min(len(vs), math.MaxInt32))}
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
			cv := newCachedVersion(v)
			if e.n < maxCachedVersions && cv.attrs.contentType != tooMany {
				e.keep(cv)
			} else {
				e.tooLong = true
			}
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
	if e.tooLong {
		e.n, e.inline, e.more = 0, [2]cachedVersion{}, nil
	}
	return e
}

// reuse returns the kept versions as the listing of now when they stand
// for it: the vault listing's item is the one seen before the listing,
// the full re-check is not due, and no dropped version can matter — every
// installed version is kept, and enough kept versions are usable (or no
// dropped one can be usable now).
func (e *cachedSecret) reuse(vaultURL, name string, item secretAttrs, now time.Time, need int, installed []store.Installed) ([]keyvault.Version, bool) {
	if e.tooLong || !e.itemKnown || e.item != item || item.contentType == tooMany || nanos(now) >= e.fullDue {
		return nil, false
	}
	if e.dropped {
		for _, in := range installed {
			if !e.holds(in.Version) {
				return nil, false // installed meanwhile by another process, or forgotten: list
			}
		}
	}
	vs := make([]keyvault.Version, e.n)
	usable := 0
	for i := range vs {
		vs[i] = e.kept(i).toVersion(vaultURL, name)
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

func (v *cachedVersion) toVersion(vaultURL, name string) keyvault.Version {
	a := v.attrs
	id := v.version()
	return keyvault.Version{ID: strings.TrimSuffix(vaultURL, "/") + "/secrets/" + name + "/" + id, Version: id,
		Enabled: a.enabled, NotBefore: fromNanos(a.notBefore), Expires: fromNanos(a.expires), Created: fromNanos(a.created),
		Updated: fromNanos(a.upd), ContentType: contentTypeName(a.contentType), Managed: a.managed}
}

// slab holds the cached secrets by value, indexed by secret: a freed slot
// is reused.
type slab struct {
	index map[secretID]int32
	items []cachedSecret
	free  []int32
}

// get returns the secret's entry, or nil; valid until the next put.
func (s *slab) get(k secretID) *cachedSecret {
	i, ok := s.index[k]
	if !ok {
		return nil
	}
	return &s.items[i]
}

// reserve makes room for n entries at once, so the slab does not grow
// by doubling (and hold up to twice what it needs).
func (s *slab) reserve(n int) {
	if n > cap(s.items) {
		s.items = slices.Grow(s.items, n-len(s.items))
	}
	if s.index == nil {
		s.index = make(map[secretID]int32, n)
	}
}

// put stores e as the secret's entry.
func (s *slab) put(k secretID, e cachedSecret) {
	if s.index == nil {
		s.index = map[secretID]int32{}
	}
	if i, ok := s.index[k]; ok {
		s.items[i] = e
		return
	}
	if n := len(s.free); n > 0 {
		i := s.free[n-1]
		s.free = s.free[:n-1]
		s.items[i] = e
		s.index[k] = i
		return
	}
	s.index[k] = int32(len(s.items))
	s.items = append(s.items, e)
}

// forget drops the secret's entry.
func (s *slab) forget(k secretID) {
	i, ok := s.index[k]
	if !ok {
		return
	}
	delete(s.index, k)
	s.items[i] = cachedSecret{}
	s.free = append(s.free, i)
}

func (s *slab) len() int { return len(s.index) }
