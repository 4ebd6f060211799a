package agent

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/store"
)

// Change detection: how an unchanged poll learns that nothing changed
// (docs/architecture.md, "Change detection"). Per vault, either every due
// secret's versions are listed (per-secret), or the vault's secret listing
// is read once in the pass and only the secrets whose item moved are
// listed (vault-wide), whichever costs fewer requests.

// Detection strategies, as logs and status name them.
const (
	StrategyPerSecret = "per-secret"
	StrategyVaultWide = "vault-wide"
)

// DefaultFullRecheck is the longest a secret goes without a full listing
// of its versions under the vault-wide strategy: a change to a version
// that is not the current one (an older version disabled, enabled or
// given new dates) does not move the vault listing's item, so it is seen
// by this listing.
const DefaultFullRecheck = 24 * time.Hour

// remeasure is how long a vault's measured listing size is trusted before
// the vault is listed again to learn it.
const remeasure = 24 * time.Hour

// listPage is Key Vault's page size for both listings.
const listPage = 25

// detector is what the agent remembers for change detection, across
// passes: per vault, the size of its listing; per secret, the versions of
// its last listing (metadata only, never a value).
type detector struct {
	mu      sync.Mutex
	vaults  map[string]*vaultMemo // by vaultKey
	secrets slab
}

// vaultMemo is what the agent learned about one vault's secret listing.
type vaultMemo struct {
	// measured is when the size was last learned; zero: never.
	measured time.Time
	// pages is the listing's page count when complete, else a page count
	// the listing is known to exceed.
	pages    int
	complete bool
	// refused says the listing was refused (403) at measured.
	refused bool
	// strategy is the vault's strategy as last logged.
	strategy string
}

// secretID identifies a secret of a vault in the cache. Its strings are
// the spec's own when they are in lower case already, so a key costs no
// allocation of its own.
type secretID struct{ vault, name string }

func secretKey(vaultURL, name string) secretID {
	return secretID{vault: vaultKey(vaultURL), name: strings.ToLower(name)}
}

// choice is how one vault is read in one pass.
type choice struct {
	// list says the vault's secret listing is read, at most maxPages pages.
	list     bool
	maxPages int
	// measure says the listing is read to learn the vault's size.
	measure bool
}

// choose decides how to read a vault in a pass whose due secrets would
// cost perSecret version listings. The vault listing is read only when it
// can cost fewer requests, and never more than perSecret-1 pages: a vault
// of unknown or stale size is listed to learn it (stopping as soon as it
// is no cheaper, which also bounds what learning costs); a vault known to
// be larger is listed again only when perSecret has grown past twice the
// size it is known to exceed, or after remeasure; a vault whose listing
// was refused waits for remeasure.
func choose(m vaultMemo, perSecret int, now time.Time) choice {
	if perSecret < 2 {
		return choice{} // a listing of one page is no cheaper than one version listing
	}
	stale := m.measured.IsZero() || now.Sub(m.measured) >= remeasure
	switch {
	case stale:
		return choice{list: true, maxPages: perSecret - 1, measure: true}
	case m.refused:
		return choice{}
	case m.complete && m.pages < perSecret:
		return choice{list: true, maxPages: perSecret - 1}
	case !m.complete && perSecret-1 > 2*m.pages:
		return choice{list: true, maxPages: perSecret - 1, measure: true}
	}
	return choice{}
}

// learn records the outcome of a listing of the vault at now. A 403
// keeps the vault per-secret until remeasure; any other failure teaches
// nothing.
func (m *vaultMemo) learn(l keyvault.Listing, err error, now time.Time) {
	switch {
	case err == nil:
		m.measured, m.pages, m.complete, m.refused = now, l.Pages, l.Complete, false
	case isForbidden(err):
		m.measured, m.refused = now, true
	}
}

// steady is the vault's strategy when all its observed secrets are due
// at once, costing total version listings: what the logs and the status
// show, stable across passes that check only some of them.
func (m *vaultMemo) steady(total int) string {
	if !m.measured.IsZero() && !m.refused && m.complete && m.pages < total {
		return StrategyVaultWide
	}
	return StrategyPerSecret
}

// passDetect is the change detection of one pass, carried by the pass's
// context to the checks.
type passDetect struct {
	vaults map[string]*passVault // by vaultKey
}

// passVault is one vault in one pass.
type passVault struct {
	url string
	// names are the due secrets (lower case) whose items a vault listing
	// keeps.
	names map[string]bool
	// perSecret is what listing the versions of the due secrets known from
	// an earlier listing costs: those a vault listing can spare a listing.
	perSecret int
	checks    int

	once    sync.Once
	items   map[string]secretAttrs // from this pass's vault listing; nil when not read
	choice  choice
	listing keyvault.Listing
	listErr error

	versionLists atomic.Int32
	reused       atomic.Int32
}

type passDetectKey struct{}

func passFrom(ctx context.Context) *passDetect {
	pd, _ := ctx.Value(passDetectKey{}).(*passDetect)
	return pd
}

// beginDetect prepares the change detection of a pass over due and
// returns the context its checks run under.
func (a *Agent) beginDetect(ctx context.Context, spec Spec, due []CertSpec) (context.Context, *passDetect) {
	d := &a.detect
	d.mu.Lock()
	defer d.mu.Unlock()
	d.prune(spec)
	pd := &passDetect{vaults: map[string]*passVault{}}
	for _, c := range due {
		if c.PinnedVersion != "" {
			continue // a pinned version is wanted as it is, without a listing
		}
		k := vaultKey(c.VaultURL)
		pv := pd.vaults[k]
		if pv == nil {
			pv = &passVault{url: c.VaultURL, names: map[string]bool{}}
			pd.vaults[k] = pv
		}
		pv.checks++
		name := strings.ToLower(c.Name)
		if pv.names[name] {
			continue
		}
		pv.names[name] = true
		if e := d.secrets.get(secretKey(c.VaultURL, c.Name)); e != nil {
			pv.perSecret += e.cost()
		}
	}
	return context.WithValue(ctx, passDetectKey{}, pd), pd
}

// prune forgets the secrets and vaults that spec no longer observes.
// The caller holds d.mu.
func (d *detector) prune(spec Spec) {
	if d.vaults == nil {
		d.vaults = map[string]*vaultMemo{}
	}
	d.secrets.reserve(len(spec.Certificates))
	if d.secrets.len() <= len(spec.Certificates) && len(d.vaults) <= len(spec.Certificates) {
		return
	}
	keep, vaults := map[secretID]bool{}, map[string]bool{}
	for _, c := range spec.Certificates {
		keep[secretKey(c.VaultURL, c.Name)] = true
		vaults[vaultKey(c.VaultURL)] = true
	}
	for k := range d.secrets.index {
		if !keep[k] {
			d.secrets.forget(k)
		}
	}
	for k := range d.vaults {
		if !vaults[k] {
			delete(d.vaults, k)
		}
	}
}

// listVersions returns the versions of c's secret (metadata): from the
// last listing when the pass's vault listing shows the secret's current
// version unchanged and that listing can stand for a new one, else from a
// listing of the secret's versions, which is then remembered.
func (a *Agent) listVersions(ctx context.Context, spec Spec, c CertSpec, installed []store.Installed) ([]keyvault.Version, error) {
	var pv *passVault
	if pd := passFrom(ctx); pd != nil {
		pv = pd.vaults[vaultKey(c.VaultURL)]
	}
	key := secretKey(c.VaultURL, c.Name)
	need := max(spec.Versions, 1)
	var item secretAttrs
	seen := false
	if pv != nil {
		pv.once.Do(func() { a.readVault(ctx, pv) })
		item, seen = pv.items[strings.ToLower(c.Name)]
		if seen {
			a.detect.mu.Lock()
			e := a.detect.secrets.get(key)
			var vs []keyvault.Version
			ok := false
			if e != nil {
				vs, ok = e.reuse(c.VaultURL, c.Name, item, a.clock.Now(), need, installed)
			}
			a.detect.mu.Unlock()
			if ok {
				pv.reused.Add(1)
				return vs, nil
			}
		}
		pv.versionLists.Add(1)
	}
	vs, err := a.deps.Source.Versions(ctx, c.VaultURL, c.Name)
	if err != nil {
		if isNotFound(err) {
			a.detect.mu.Lock()
			a.detect.secrets.forget(key)
			a.detect.mu.Unlock()
		}
		return nil, err
	}
	now := a.clock.Now()
	e := newCachedSecret(vs, installed, need, now)
	full := a.deps.FullRecheck
	e.fullDue = nanos(now.Add(full/2 + rand.N(full/2+1))) // spread: a vault's secrets do not all fall due together
	a.detect.mu.Lock()
	defer a.detect.mu.Unlock()
	if old := a.detect.secrets.get(key); !seen && old != nil {
		// No vault listing in this pass: the item seen before this
		// listing still stands for it (if the current version changed
		// since, the item moved too, and the next vault-wide pass lists).
		item, seen = old.item, old.itemKnown
	}
	e.item, e.itemKnown = item, seen
	a.detect.secrets.put(key, e)
	return vs, nil
}

// readVault reads the vault's secret listing for the pass when choose
// says so, keeping the items of the due secrets. A failed listing leaves
// the vault per-secret for the pass; the checks go on and fail, or not,
// on their own. The listing gets at most half of what is left of the
// check's budget, so a listing that never answers still leaves the
// version listing time to name its own cause (or to succeed).
func (a *Agent) readVault(ctx context.Context, pv *passVault) {
	d := &a.detect
	now := a.clock.Now()
	d.mu.Lock()
	m := d.memo(pv.url)
	pv.choice = choose(*m, pv.perSecret, now)
	d.mu.Unlock()
	if !pv.choice.list {
		return
	}
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Until(deadline)/2)
		defer cancel()
	}
	items := make(map[string]secretAttrs, len(pv.names))
	l, err := a.deps.Source.ListSecrets(ctx, pv.url, pv.choice.maxPages, func(page []keyvault.SecretItem) {
		for _, it := range page {
			if n := strings.ToLower(it.Name); pv.names[n] {
				items[n] = itemAttrs(it)
			}
		}
	})
	pv.listing, pv.listErr = l, err
	d.mu.Lock()
	m.learn(l, err, now)
	d.mu.Unlock()
	if err != nil {
		a.log.Debug("vault listing failed; its secrets' versions are listed one by one in this pass", "vault", pv.url, "error", err)
		return
	}
	pv.items = items // a partial listing still stands for the items it has
}

// memo returns the vault's memo, made on first use. The caller holds d.mu.
func (d *detector) memo(vaultURL string) *vaultMemo {
	if d.vaults == nil {
		d.vaults = map[string]*vaultMemo{}
	}
	k := vaultKey(vaultURL)
	m := d.vaults[k]
	if m == nil {
		m = &vaultMemo{}
		d.vaults[k] = m
	}
	return m
}

// endDetect logs each vault of the pass (Debug) and, once per change, the
// strategy of each vault whose strategy is new (Info).
func (a *Agent) endDetect(spec Spec, pd *passDetect) {
	for _, pv := range pd.vaults {
		strategy := StrategyPerSecret
		if pv.items != nil && pv.listing.Complete {
			strategy = StrategyVaultWide
		}
		a.log.Debug("change detection", "vault", pv.url, "strategy", strategy, "checks", pv.checks,
			"vaultListPages", pv.listing.Pages, "versionListings", pv.versionLists.Load(), "reused", pv.reused.Load())
	}
	d := &a.detect
	d.mu.Lock()
	defer d.mu.Unlock()
	var costs map[string]int
	for k, pv := range pd.vaults {
		m := d.vaults[k]
		if m == nil {
			continue // no secret of the vault listed its versions: nothing chosen yet
		}
		if costs == nil {
			costs = d.vaultCosts(spec)
		}
		total := costs[k]
		if m.measured.IsZero() && total >= 2 {
			continue // not measured yet, though it may pay: nothing chosen
		}
		s := m.steady(total)
		if s == m.strategy {
			continue
		}
		m.strategy = s
		a.log.Info("change detection strategy", "vault", pv.url, "strategy", s,
			"perSecretRequests", total, "vaultListRequests", m.describePages(), "why", m.why(total, pv.listErr))
	}
}

// vaultCosts is, by vault, what listing the versions of every observed
// secret costs, from their last listings (one request for a secret not
// listed yet). The caller holds d.mu.
func (d *detector) vaultCosts(spec Spec) map[string]int {
	costs := map[string]int{}
	seen := map[secretID]bool{}
	for _, c := range spec.Certificates {
		sk := secretKey(c.VaultURL, c.Name)
		if c.PinnedVersion != "" || seen[sk] {
			continue
		}
		seen[sk] = true
		n := 1
		if e := d.secrets.get(sk); e != nil {
			n = e.cost()
		}
		costs[vaultKey(c.VaultURL)] += n
	}
	return costs
}

// describePages renders the listing's size: "8", "more than 3", or
// "refused".
func (m *vaultMemo) describePages() string {
	switch {
	case m.measured.IsZero():
		return "not measured"
	case m.refused:
		return "refused"
	case m.complete:
		return fmt.Sprint(m.pages)
	}
	return fmt.Sprintf("more than %d", m.pages)
}

// why says in a few words why the vault has its strategy.
func (m *vaultMemo) why(total int, err error) string {
	switch {
	case m.measured.IsZero():
		return "listing its secrets' versions costs 1 request per poll, which no vault listing beats"
	case m.refused:
		return "the vault refused to list its secrets (403); measured again in 24 h"
	case err != nil && !errors.Is(err, context.Canceled):
		return "the vault listing failed: " + err.Error()
	case m.complete && m.pages < total:
		return "one listing of the vault costs fewer requests than listing each secret's versions"
	}
	return "listing each secret's versions costs no more than listing the vault"
}

// VaultDetection is the change detection strategy of one vault, for the
// status file.
type VaultDetection struct {
	Vault    string `json:"vault"`
	Strategy string `json:"strategy"`
	// PerSecretRequests is what an unchanged poll costs listing each
	// observed secret's versions; VaultListRequests the pages of the
	// vault's listing ("more than N", "refused", "" when not measured).
	PerSecretRequests int    `json:"perSecretRequests"`
	VaultListRequests string `json:"vaultListRequests,omitempty"`
}

// detection returns the strategy of every vault of spec whose secrets'
// versions were listed.
func (a *Agent) detection(spec Spec) []VaultDetection {
	d := &a.detect
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.vaults) == 0 {
		return nil
	}
	costs := d.vaultCosts(spec)
	var out []VaultDetection
	seen := map[string]bool{}
	for _, c := range spec.Certificates {
		k := vaultKey(c.VaultURL)
		m := d.vaults[k]
		if seen[k] || m == nil {
			continue
		}
		seen[k] = true
		out = append(out, VaultDetection{Vault: c.VaultURL, Strategy: m.steady(costs[k]), PerSecretRequests: costs[k], VaultListRequests: m.describePages()})
	}
	return out
}

// joinVaultWide adds to due every healthy installed certificate of its
// vault-wide vaults that falls due within the interval: the pass lists
// their vault anyway, so checking them now costs no request more, and the
// vault's certificates then share one listing per interval instead of one
// per pass of the few that the jitter put together. Checked together, they
// fall due together again at the earliest of their jittered next checks:
// each is checked a little more often than the interval (about 10 %).
func (a *Agent) joinVaultWide(spec Spec, due []CertSpec) []CertSpec {
	d := &a.detect
	d.mu.Lock()
	wide := map[string]bool{}
	for k, m := range d.vaults {
		if m.strategy == StrategyVaultWide {
			wide[k] = true
		}
	}
	d.mu.Unlock()
	if len(wide) == 0 {
		return due
	}
	in := make(map[string]bool, len(due))
	listed := map[string]bool{}
	for _, c := range due {
		in[c.Key()] = true
		if k := vaultKey(c.VaultURL); wide[k] {
			listed[k] = true
		}
	}
	if len(listed) == 0 {
		return due
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock.Now()
	window := spec.Interval
	for _, c := range spec.Certificates {
		if in[c.Key()] || c.PinnedVersion != "" || !listed[vaultKey(c.VaultURL)] {
			continue
		}
		st := a.certs[c.Key()]
		if st == nil || st.Attempts > 0 || st.Fatal || !st.Installed() || !st.CheckingSince.IsZero() || st.NextCheck.Sub(now) > window {
			continue
		}
		due = append(due, c)
	}
	return due
}
