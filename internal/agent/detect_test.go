package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/store"
)

func TestChooseListsTheVaultOnlyWhenCheaper(t *testing.T) {
	now := t0
	recent, old := now.Add(-time.Hour), now.Add(-remeasure)
	for _, tc := range []struct {
		name      string
		memo      vaultMemo
		perSecret int
		want      choice
	}{
		{"one due secret: no listing beats one request", vaultMemo{}, 1, choice{}},
		{"never measured: measure, stopping once no cheaper", vaultMemo{}, 200, choice{list: true, maxPages: 199, measure: true}},
		{"2 due of a vault never measured: at most 1 page", vaultMemo{}, 2, choice{list: true, maxPages: 1, measure: true}},
		{"known smaller than the per-secret cost", vaultMemo{measured: recent, pages: 8, complete: true}, 200, choice{list: true, maxPages: 199}},
		{"known as large as the per-secret cost", vaultMemo{measured: recent, pages: 3, complete: true}, 3, choice{}},
		{"known larger than the per-secret cost", vaultMemo{measured: recent, pages: 80, complete: true}, 2, choice{}},
		{"known to exceed 1 page, 2 due", vaultMemo{measured: recent, pages: 1}, 2, choice{}},
		{"known to exceed 1 page, cost grew past twice that", vaultMemo{measured: recent, pages: 1}, 4, choice{list: true, maxPages: 3, measure: true}},
		{"known to exceed 2 pages, cost 5: not yet", vaultMemo{measured: recent, pages: 2}, 5, choice{}},
		{"measured a day ago: measure again", vaultMemo{measured: old, pages: 80, complete: true}, 2, choice{list: true, maxPages: 1, measure: true}},
		{"refused recently", vaultMemo{measured: recent, refused: true}, 200, choice{}},
		{"refused a day ago: try again", vaultMemo{measured: old, refused: true}, 200, choice{list: true, maxPages: 199, measure: true}},
	} {
		if got := choose(tc.memo, tc.perSecret, now); got != tc.want {
			t.Errorf("%s: choose = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestVaultMemoLearnsFromTheListing(t *testing.T) {
	var m vaultMemo
	m.learn(keyvault.Listing{Pages: 1}, nil, t0)
	if m.complete || m.pages != 1 || m.steady(2) != StrategyPerSecret || m.describePages() != "more than 1" {
		t.Errorf("after a cut listing: %+v, %s", m, m.describePages())
	}
	m.learn(keyvault.Listing{Pages: 8, Complete: true}, nil, t0)
	if m.steady(200) != StrategyVaultWide || m.steady(8) != StrategyPerSecret {
		t.Errorf("8 pages: steady(200) = %s, steady(8) = %s", m.steady(200), m.steady(8))
	}
	m.learn(keyvault.Listing{}, kvError(http.StatusServiceUnavailable, "ServiceUnavailable", ""), t0.Add(time.Hour))
	if m.steady(200) != StrategyVaultWide || !m.measured.Equal(t0) {
		t.Errorf("a failed listing changed the memo: %+v", m)
	}
	m.learn(keyvault.Listing{}, refusedList("https://v.vault.azure.net"), t0.Add(time.Hour))
	if !m.refused || m.steady(200) != StrategyPerSecret || m.describePages() != "refused" {
		t.Errorf("after a 403: %+v", m)
	}
}

// history returns n versions of one secret, one a day, the newest last;
// every version but the newest two has expired.
func history(n int, now time.Time) []keyvault.Version {
	vs := make([]keyvault.Version, n)
	for i := range vs {
		created := now.Add(-time.Duration(n-i) * 24 * time.Hour)
		vs[i] = keyvault.Version{Version: fmt.Sprintf("v%02d", i+1), Enabled: true, Created: created, ContentType: "application/x-pem-file"}
		if i < n-2 {
			vs[i].Expires = now.Add(-time.Hour)
		}
	}
	return vs
}

func TestCachedSecretIsSmallAndStandsForTheListing(t *testing.T) {
	vs := history(60, t0)
	installed := []store.Installed{{Version: "v60", Current: true}, {Version: "v59"}}
	e := newCachedSecret(vs, installed, 1, t0)
	if got := keptIDs(&e); !reflect.DeepEqual(got, []string{"v60", "v59"}) || e.cost() != 3 {
		t.Fatalf("kept %v, cost %d; want v60, v59 of 60 listed (3 pages)", got, e.cost())
	}
	if e.candidate {
		t.Error("the dropped versions have all expired, yet one is taken as maybe usable")
	}
	item := versionAttrs(vs[59])
	e.item, e.itemKnown, e.fullDue = item, true, nanos(t0.Add(DefaultFullRecheck))

	got, ok := e.reuse("https://v.vault.azure.net", "web", item, t0.Add(time.Minute), 1, installed)
	if !ok {
		t.Fatal("an unchanged item does not reuse the listing")
	}
	want := keyvault.Newest(vs, t0.Add(time.Minute), 60)
	if n := keyvault.Newest(got, t0.Add(time.Minute), 60); !reflect.DeepEqual(versionIDs(n), versionIDs(want)) || !n[0].Created.Equal(want[0].Created) {
		t.Errorf("usable versions from the cache %v, from the listing %v", versionIDs(n), versionIDs(want))
	}

	moved := item
	moved.upd++
	for _, tc := range []struct {
		name      string
		item      secretAttrs
		now       time.Time
		installed []store.Installed
	}{
		{"the item moved", moved, t0.Add(time.Minute), installed},
		{"the full re-check is due", item, t0.Add(DefaultFullRecheck), installed},
		{"an installed version that was not kept", item, t0.Add(time.Minute), append(installed, store.Installed{Version: "v03"})},
	} {
		if _, ok := e.reuse("https://v.vault.azure.net", "web", tc.item, tc.now, 1, tc.installed); ok {
			t.Errorf("%s: the cached listing was reused", tc.name)
		}
	}
}

func TestCachedSecretIsListedWhenADroppedVersionMayMatter(t *testing.T) {
	// v1..v4 never expire; v5 (current) expires in an hour. One version is
	// wanted: v5 and v4 are kept, v1..v3 dropped but usable.
	var vs []keyvault.Version
	for i := 1; i <= 5; i++ {
		vs = append(vs, keyvault.Version{Version: fmt.Sprintf("v%d", i), Enabled: true, Created: t0.Add(time.Duration(i-10) * time.Hour)})
	}
	vs[4].Expires = t0.Add(time.Hour)
	vs[3].Expires = t0.Add(2 * time.Hour)
	installed := []store.Installed{{Version: "v5", Current: true}, {Version: "v4"}}
	e := newCachedSecret(vs, installed, 1, t0)
	e.item, e.itemKnown, e.fullDue = versionAttrs(vs[4]), true, nanos(t0.Add(DefaultFullRecheck))
	if got := keptIDs(&e); !e.candidate || !reflect.DeepEqual(got, []string{"v5", "v4"}) {
		t.Fatalf("kept %v, candidate %v; want v5, v4 and a maybe-usable dropped one", got, e.candidate)
	}
	// After v5 expired, v4 is still usable: the cache stands, and v5 shows expired.
	got, ok := e.reuse("https://v.vault.azure.net", "web", e.item, t0.Add(90*time.Minute), 1, installed)
	if !ok || got[0].Usable(t0.Add(90*time.Minute)) || !got[1].Usable(t0.Add(90*time.Minute)) {
		t.Fatalf("after v5 expired: reused %v (%v); want the cache with v5 expired and v4 usable", ok, got)
	}
	// After v4 expired too, only a dropped version can be usable: list.
	if _, ok := e.reuse("https://v.vault.azure.net", "web", e.item, t0.Add(3*time.Hour), 1, installed); ok {
		t.Error("with no kept version usable, the cache stood for a listing that has usable older versions")
	}
}

func TestCachedSecretTooLongIsNotKept(t *testing.T) {
	// The 30 newest versions are disabled: the kept versions would run past
	// maxCachedVersions to reach a usable one.
	var vs []keyvault.Version
	for i := range 40 {
		vs = append(vs, keyvault.Version{Version: fmt.Sprintf("v%02d", i), Enabled: i < 10, Created: t0.Add(time.Duration(i-50) * time.Hour)})
	}
	e := newCachedSecret(vs, nil, 1, t0)
	if !e.tooLong || e.n != 0 || e.more != nil || e.cost() != 2 {
		t.Fatalf("tooLong %v, kept %d, cost %d", e.tooLong, e.n, e.cost())
	}
	e.itemKnown, e.fullDue = true, nanos(t0.Add(time.Hour))
	if _, ok := e.reuse("https://v.vault.azure.net", "web", e.item, t0, 1, nil); ok {
		t.Error("a secret too long to keep reused its cache")
	}
}

func keptIDs(e *cachedSecret) []string {
	var out []string
	for i := range int(e.n) {
		out = append(out, e.kept(i).version())
	}
	return out
}

// Key Vault's 32-hex version ids are kept as 16 bytes, any other id whole.
func TestCachedVersionIDs(t *testing.T) {
	for _, id := range []string{"0123456789abcdef0123456789abcdef", "0123456789ABCDEF0123456789ABCDEF", "v1", "zz23456789abcdef0123456789abcdef"} {
		cv := newCachedVersion(keyvault.Version{Version: id})
		if cv.version() != id || !cv.is(id) || cv.is(id+"0") || cv.is("00000000000000000000000000000000") {
			t.Errorf("%s: version() = %s, is(self) = %v", id, cv.version(), cv.is(id))
		}
	}
}

func versionIDs(vs []keyvault.Version) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Version
	}
	return out
}

// vaultHarness observes names in one vault that lists its secrets; each
// secret gets one version (the first name gets versions many).
func vaultHarness(t *testing.T, names []string, versions int) *harness {
	t.Helper()
	h := newHarness(t)
	h.src.listable = true
	h.spec.Certificates = nil
	for i, name := range names {
		ref := store.Ref{Vault: "v", Name: name}
		h.spec.Certificates = append(h.spec.Certificates, CertSpec{Ref: ref, VaultURL: "https://v.vault.azure.net", URL: "https://v.vault.azure.net/secrets/" + name})
		n := 1
		if i == 0 {
			n = versions
		}
		for j := range n {
			h.src.add(name, fmt.Sprintf("%s-%02d", name, j+1), h.pki.leafPEM(t, name+".example.com", false), h.clock.Now().Add(-time.Duration(n-j)*time.Hour))
		}
	}
	return h
}

// poll advances the clock a little and runs one pass over every
// certificate, returning the version listings and vault pages it made.
func poll(t *testing.T, h *harness, a *Agent) (lists, pages int) {
	t.Helper()
	h.clock.Advance(time.Minute)
	l0, _ := h.src.counts()
	p0 := h.src.vaultPagesServed()
	s := a.SyncOnce(context.Background())
	for _, c := range s.Certificates {
		if c.LastError != "" {
			t.Fatalf("%s: %s", c.Key, c.LastError)
		}
	}
	l1, _ := h.src.counts()
	return l1 - l0, h.src.vaultPagesServed() - p0
}

func (s *fakeSource) vaultPagesServed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.vaultPages
}

func TestVaultWideUnchangedPollListsNoVersions(t *testing.T) {
	h := vaultHarness(t, []string{"long", "b", "c"}, 60)
	var logs strings.Builder
	a := h.agent(t, func(d *Deps) { d.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	a.SyncOnce(context.Background()) // first installs: one get each
	if lists, pages := poll(t, h, a); lists != 3 || pages != 0 {
		t.Fatalf("first listing pass: %d version listings and %d vault pages, want 3 and 0 (nothing known to compare with)", lists, pages)
	}
	// Now the costs are known: 3 + 1 + 1 version listings against 1 page.
	if lists, pages := poll(t, h, a); pages != 1 {
		t.Fatalf("second listing pass: %d vault pages, want 1 (%d version listings)", pages, lists)
	}
	for range 3 {
		if lists, pages := poll(t, h, a); lists != 0 || pages != 1 {
			t.Fatalf("unchanged poll: %d version listings and %d vault pages, want 0 and 1", lists, pages)
		}
	}
	if n := strings.Count(logs.String(), `msg="change detection strategy"`); n != 1 ||
		!strings.Contains(logs.String(), `msg="change detection strategy" vault=https://v.vault.azure.net strategy=vault-wide perSecretRequests=5 vaultListRequests=1`) {
		t.Errorf("the strategy was logged %d times, want once, vault-wide with both costs:\n%s", n, logs.String())
	}
	want := []VaultDetection{{Vault: "https://v.vault.azure.net", Strategy: StrategyVaultWide, PerSecretRequests: 5, VaultListRequests: "1"}}
	if got := a.Status().Detection; !reflect.DeepEqual(got, want) {
		t.Errorf("status detection = %+v, want %+v", got, want)
	}
}

// goneVaultWide returns an agent whose vault went vault-wide, with web at v1.
func goneVaultWide(t *testing.T, h *harness) *Agent {
	t.Helper()
	a := h.agent(t, nil)
	a.SyncOnce(context.Background())
	poll(t, h, a)
	poll(t, h, a)
	if lists, pages := poll(t, h, a); lists != 0 || pages != 1 {
		t.Fatalf("not vault-wide: %d version listings and %d vault pages per unchanged poll", lists, pages)
	}
	return a
}

func TestVaultWideSeesRotationAndWithdrawalOfTheCurrentVersion(t *testing.T) {
	h := vaultHarness(t, []string{"web", "b", "c"}, 1)
	a := goneVaultWide(t, h)

	h.src.add("web", "web-02", h.pki.leafPEM(t, "web.example.com", false), h.clock.Now())
	if lists, _ := poll(t, h, a); lists != 1 {
		t.Errorf("rotation: %d version listings, want 1 (web only)", lists)
	}
	if got := h.store.versions(h.ref); !reflect.DeepEqual(got, []string{"web-02", "web-01"}) {
		t.Fatalf("after the rotation installed %v, want [web-02 web-01]", got)
	}

	h.src.edit("web", "web-02", func(v *keyvault.Version) { v.Enabled = false })
	if lists, _ := poll(t, h, a); lists != 1 {
		t.Errorf("disable: %d version listings, want 1 (web only)", lists)
	}
	if got := h.store.versions(h.ref); !reflect.DeepEqual(got, []string{"web-01"}) {
		t.Errorf("after disabling the current version installed %v, want [web-01]", got)
	}
}

func TestVaultWideActsOnAnExpiryWithoutAListing(t *testing.T) {
	h := vaultHarness(t, []string{"web", "b", "c"}, 1)
	a := goneVaultWide(t, h)
	h.src.add("web", "web-02", h.pki.leafPEM(t, "web.example.com", false), h.clock.Now())
	h.src.edit("web", "web-02", func(v *keyvault.Version) { v.Expires = h.clock.Now().Add(2 * time.Hour) })
	poll(t, h, a)
	if lists, pages := poll(t, h, a); lists != 0 || pages != 1 {
		t.Fatalf("unchanged poll after the rotation: %d version listings and %d pages", lists, pages)
	}
	if got := h.store.versions(h.ref); !reflect.DeepEqual(got, []string{"web-02", "web-01"}) {
		t.Fatalf("installed %v, want [web-02 web-01]", got)
	}
	h.clock.Advance(2 * time.Hour) // web-02 expires; nothing changes in the vault
	lists, pages := poll(t, h, a)
	if lists != 0 || pages != 1 {
		t.Errorf("expiry: %d version listings and %d pages, want 0 and 1", lists, pages)
	}
	st := a.Status()
	if c := certStatusOf(st, "v/web"); c.InstalledVersion != "web-01" || !strings.Contains(c.Notice, "expired") {
		t.Errorf("after web-02 expired: current %s, notice %q; want web-01 and the expiry named", c.InstalledVersion, c.Notice)
	}
}

func certStatusOf(s Status, key string) CertStatus {
	for _, c := range s.Certificates {
		if c.Key == key {
			return c
		}
	}
	return CertStatus{}
}

func TestWithdrawnOlderVersionIsSeenByTheFullRecheck(t *testing.T) {
	h := vaultHarness(t, []string{"web", "b", "c"}, 1)
	a := goneVaultWide(t, h)
	h.src.add("web", "web-02", h.pki.leafPEM(t, "web.example.com", false), h.clock.Now())
	poll(t, h, a)
	if got := h.store.versions(h.ref); !reflect.DeepEqual(got, []string{"web-02", "web-01"}) {
		t.Fatalf("installed %v, want [web-02 web-01]", got)
	}

	// Disabling the older installed version does not move the vault
	// listing's item: the unchanged polls do not see it.
	h.src.edit("web", "web-01", func(v *keyvault.Version) { v.Enabled = false })
	if lists, _ := poll(t, h, a); lists != 0 {
		t.Fatalf("%d version listings; the older version's change should not move the item", lists)
	}
	if got := h.store.versions(h.ref); !reflect.DeepEqual(got, []string{"web-02", "web-01"}) {
		t.Fatalf("installed %v", got)
	}
	// Within DefaultFullRecheck every secret's versions are listed in full.
	h.clock.Advance(DefaultFullRecheck)
	if lists, _ := poll(t, h, a); lists != 3 {
		t.Errorf("full re-check: %d version listings, want 3", lists)
	}
	if got := h.store.versions(h.ref); !reflect.DeepEqual(got, []string{"web-02"}) {
		t.Errorf("after the full re-check installed %v, want [web-02]: the disabled web-01 removed", got)
	}
}

func TestFewSecretsOfALargeVaultStayPerSecret(t *testing.T) {
	h := vaultHarness(t, []string{"web", "api"}, 1)
	for i := range 1998 {
		h.src.add(fmt.Sprintf("filler%04d", i), fmt.Sprintf("f%04d", i), "x", h.clock.Now().Add(-time.Hour))
	}
	a := h.agent(t, nil)
	a.SyncOnce(context.Background())
	pages := 0
	for range 6 {
		lists, p := poll(t, h, a)
		if lists != 2 {
			t.Fatalf("%d version listings per poll, want 2", lists)
		}
		pages += p
	}
	if pages > 1 {
		t.Errorf("learning that a vault of 2,000 secrets costs more than 2 listings took %d pages, want at most 1", pages)
	}
	h.clock.Advance(remeasure)
	if _, p := poll(t, h, a); p != 1 {
		t.Errorf("a day later: %d pages, want 1 (measured again)", p)
	}
	if got := a.Status().Detection; len(got) != 1 || got[0].Strategy != StrategyPerSecret || got[0].VaultListRequests != "more than 1" {
		t.Errorf("status detection = %+v", got)
	}
}

func TestFailedVaultListingKeepsChecksPerSecret(t *testing.T) {
	h := vaultHarness(t, []string{"web", "b", "c"}, 1)
	a := h.agent(t, nil)
	a.SyncOnce(context.Background())
	poll(t, h, a)
	h.src.failList = kvError(http.StatusInternalServerError, "InternalServerError", "")
	if lists, _ := poll(t, h, a); lists != 3 { // poll fails the test on any certificate error
		t.Errorf("%d version listings, want 3 (each secret, since the vault listing failed)", lists)
	}
	h.src.failList = nil
	poll(t, h, a)
	if lists, pages := poll(t, h, a); lists != 0 || pages != 1 {
		t.Errorf("after the vault listing recovered: %d version listings and %d pages, want 0 and 1", lists, pages)
	}
}

// silentList is a vault that lists versions but never answers the listing
// of its secrets.
type silentList struct{ *fakeSource }

// Versions answers while the call's context lasts, as a vault does.
func (s silentList) Versions(ctx context.Context, vaultURL, name string) ([]keyvault.Version, error) {
	if err := ctx.Err(); err != nil {
		return nil, keyvault.NewError("list versions of", vaultURL, name, "", err)
	}
	return s.fakeSource.Versions(ctx, vaultURL, name)
}

func (silentList) ListSecrets(ctx context.Context, vaultURL string, _ int, _ func([]keyvault.SecretItem)) (keyvault.Listing, error) {
	<-ctx.Done()
	return keyvault.Listing{}, keyvault.NewError("list the secrets", vaultURL, "", "", &keyvault.TimeoutError{Connected: true, Err: ctx.Err(), Check: true})
}

// A vault listing that never answers gets half the check's budget: the
// versions are still listed in the other half, and no certificate fails
// because of the vault listing.
func TestSilentVaultListingLeavesTimeForTheVersions(t *testing.T) {
	h := vaultHarness(t, []string{"web", "b", "c"}, 1)
	a := h.agent(t, func(d *Deps) { d.Source = silentList{h.src}; d.Clock = quickBudgetClock{} })
	a.SyncOnce(context.Background())
	a.SyncOnce(context.Background()) // versions listed, costs known
	l0, _ := h.src.counts()
	st := a.SyncOnce(context.Background())
	for _, c := range st.Certificates {
		if c.LastError != "" {
			t.Errorf("%s failed: %s", c.Key, c.LastError)
		}
	}
	if l1, _ := h.src.counts(); l1-l0 != 3 {
		t.Errorf("%d version listings, want 3", l1-l0)
	}
}
