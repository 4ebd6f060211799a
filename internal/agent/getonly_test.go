package agent

import (
	"context"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/keyvault"
)

// getOnlySource is the fake vault with version listings refused (403) for
// an identity granted Get alone, while refuse is set.
type getOnlySource struct {
	*fakeSource
	mu     sync.Mutex
	refuse bool
	denied int // refused listings
}

func (s *getOnlySource) Versions(ctx context.Context, vaultURL, name string) ([]keyvault.Version, error) {
	s.mu.Lock()
	refuse := s.refuse
	if refuse {
		s.denied++
	}
	s.mu.Unlock()
	if refuse {
		return nil, kvBodyError(http.StatusForbidden, name, "",
			`{"error":{"code":"Forbidden","message":"The user does not have secrets list permission on key vault 'v'.","innererror":{"code":"ForbiddenByPolicy"}}}`)
	}
	return s.fakeSource.Versions(ctx, vaultURL, name)
}

func (s *getOnlySource) set(refuse bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = refuse
}

func (s *getOnlySource) refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.denied
}

func getOnlyAgent(t *testing.T, h *harness) (*Agent, *getOnlySource) {
	t.Helper()
	src := &getOnlySource{fakeSource: h.src, refuse: true}
	return h.agent(t, func(d *Deps) { d.Source = src }), src
}

// A Get-only identity installs, reads the current version each poll
// (one GET, no listing), installs a rotation from that one download, and
// the status says so once.
func TestGetOnlyInstallsRotatesAndSaysSo(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "v1", time.Hour)
	a, src := getOnlyAgent(t, h)
	a.SyncOnce(context.Background())
	st := a.SyncOnce(context.Background())
	c := st.Certificates[0]
	if c.InstalledVersion != "v1" || c.LastError != "" || c.Notice != GetOnlyNotice {
		t.Fatalf("installed %q, error %q, notice %q; want v1 and the get-only notice", c.InstalledVersion, c.LastError, c.Notice)
	}
	if st.Phase != Success || strings.Count(st.Message, GetOnlyNotice) != 1 {
		t.Errorf("phase %s, message %q; want success saying the notice once", st.Phase, st.Message)
	}
	refusedBefore := src.refused()
	_, gets := h.src.counts()
	for range 3 {
		h.clock.Advance(time.Hour)
		a.SyncOnce(context.Background())
	}
	if _, after := h.src.counts(); after-gets != 3 || src.refused() != refusedBefore {
		t.Errorf("3 unchanged get-only polls: %d GETs and %d refused listings; want 3 and 0", after-gets, src.refused()-refusedBefore)
	}
	h.clock.Advance(time.Minute)
	h.addVersion(t, "v2", 0)
	_, gets = h.src.counts()
	st = a.SyncOnce(context.Background())
	if c := st.Certificates[0]; c.InstalledVersion != "v2" || c.Notice != GetOnlyNotice {
		t.Errorf("after a rotation: installed %q, notice %q", c.InstalledVersion, c.Notice)
	}
	if _, after := h.src.counts(); after-gets != 1 {
		t.Errorf("a get-only rotation took %d downloads, want 1", after-gets)
	}
	if got := h.store.versions(h.ref); !reflect.DeepEqual(got, []string{"v2", "v1"}) {
		t.Errorf("installed %v, want v2 current and v1 kept", got)
	}
}

// Listing is tried again after GetOnlyRetry, on new settings and on a
// sync asked for now; a granted listing ends the mode and its notice.
func TestGetOnlyRetriesListing(t *testing.T) {
	h := newHarness(t)
	h.spec.Versions = 2 // no first install by GET: the first check lists
	h.addVersion(t, "v1", time.Hour)
	a, src := getOnlyAgent(t, h)
	st := a.SyncOnce(context.Background())
	if c := st.Certificates[0]; c.InstalledVersion != "v1" || c.Notice != GetOnlyNotice || src.refused() != 1 {
		t.Fatalf("installed %q, notice %q, %d refused listings; want v1 installed from one refused listing", c.InstalledVersion, c.Notice, src.refused())
	}
	h.clock.Advance(GetOnlyRetry - time.Minute)
	a.SyncOnce(context.Background())
	if n := src.refused(); n != 1 {
		t.Errorf("%d refused listings before the retry is due, want 1", n)
	}
	h.clock.Advance(time.Minute)
	a.SyncOnce(context.Background())
	if n := src.refused(); n != 2 {
		t.Errorf("%d refused listings after %s, want 2", n, GetOnlyRetry)
	}
	a.setSpec(h.spec) // SIGHUP
	a.SyncOnce(context.Background())
	if n := src.refused(); n != 3 {
		t.Errorf("%d refused listings after a reload, want 3", n)
	}
	a.getOnly.retryAll() // as passNow does for sync --now
	src.set(false)
	st = a.SyncOnce(context.Background())
	if c := st.Certificates[0]; c.Notice != "" || c.LastError != "" {
		t.Errorf("after List was granted: notice %q, error %q; want none", c.Notice, c.LastError)
	}
	lists, _ := h.src.counts()
	h.clock.Advance(time.Hour)
	a.SyncOnce(context.Background())
	if after, _ := h.src.counts(); after != lists+1 {
		t.Errorf("a granted listing is not used: %d listings in a poll", after-lists)
	}
}

// Without Get either, the listing's refusal is the error, and no notice
// claims a mode that does not work.
func TestNoGetNoListIsTheListingsError(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "v1", time.Hour)
	h.src.failGetLatest = kvError(http.StatusForbidden, "Forbidden", "web")
	a, _ := getOnlyAgent(t, h)
	c := a.SyncOnce(context.Background()).Certificates[0]
	if !strings.Contains(c.LastError, "ForbiddenByPolicy") || c.Notice != "" || c.HTTPStatus != http.StatusForbidden {
		t.Errorf("error %q, notice %q, status %d; want the listing's 403 and no notice", c.LastError, c.Notice, c.HTTPStatus)
	}
}

// A disabled current version keeps what is installed, and the error says
// why akvvm cannot look further.
func TestGetOnlyDisabledCurrentKeepsTheInstalled(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "v1", time.Hour)
	a, _ := getOnlyAgent(t, h)
	a.SyncOnce(context.Background())
	a.SyncOnce(context.Background())
	h.clock.Advance(time.Minute)
	h.addVersion(t, "v2", 0)
	h.src.edit("web", "v2", func(v *keyvault.Version) { v.Enabled = false })
	c := a.SyncOnce(context.Background()).Certificates[0]
	if c.InstalledVersion != "v1" || !strings.Contains(c.LastError, "grant List") || c.Notice != GetOnlyNotice {
		t.Errorf("installed %q, error %q, notice %q; want v1 kept and an error naming the fix", c.InstalledVersion, c.LastError, c.Notice)
	}
	if got := h.store.versions(h.ref); !reflect.DeepEqual(got, []string{"v1"}) {
		t.Errorf("installed %v, want v1 alone", got)
	}
}

// A current version held by the activation delay keeps the installed one
// current until its release.
func TestGetOnlyHoldsAnUnreleasedVersion(t *testing.T) {
	h := newHarness(t)
	h.spec.Certificates[0].ActivationDelay = time.Hour
	h.addVersion(t, "v1", 2*time.Hour)
	a, _ := getOnlyAgent(t, h)
	a.SyncOnce(context.Background())
	a.SyncOnce(context.Background())
	h.addVersion(t, "v2", 0)
	c := a.SyncOnce(context.Background()).Certificates[0]
	if c.InstalledVersion != "v1" || c.LastError != "" || !strings.Contains(c.Pending, "v2") {
		t.Errorf("installed %q, error %q, pending %q; want v1 current and v2 pending", c.InstalledVersion, c.LastError, c.Pending)
	}
	h.clock.Advance(time.Hour)
	if c := a.SyncOnce(context.Background()).Certificates[0]; c.InstalledVersion != "v2" {
		t.Errorf("after the release: installed %q, want v2", c.InstalledVersion)
	}
}

// A sync asked for now (akvvm sync --now) tries listing again at once.
func TestSyncNowTriesListingAgain(t *testing.T) {
	h := newHarness(t)
	h.spec.Versions = 2
	h.addVersion(t, "v1", time.Hour)
	src := &getOnlySource{fakeSource: h.src, refuse: true}
	a, err := New(h.spec, Deps{Source: src, Store: h.store, Clock: stillClock{now: t0}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx) }()
	st, err := a.SyncNow(ctx) // after the first pass, which entered the get-only mode
	if err != nil || st.Certificates[0].Notice != GetOnlyNotice {
		t.Fatalf("first sync now: %v, notice %q", err, st.Certificates[0].Notice)
	}
	refused := src.refused()
	src.set(false)
	st, err = a.SyncNow(ctx)
	if err != nil || st.Certificates[0].Notice != "" || src.refused() != refused {
		t.Errorf("sync now after List was granted: %v, notice %q; want the listing tried and the notice gone", err, st.Certificates[0].Notice)
	}
	cancel()
	<-ran
}

// The log says it once per vault, however many of its secrets are read by
// GET alone; each certificate's status says it.
func TestGetOnlyWarnsOncePerVault(t *testing.T) {
	h := newHarness(t)
	h.spec.Versions = 2
	db := h.spec.Certificates[0]
	db.Ref.Name, db.URL = "db", "https://v.vault.azure.net/secrets/db"
	h.spec.Certificates = append(h.spec.Certificates, db)
	h.addVersion(t, "v1", time.Hour)
	h.src.add("db", "d1", h.pki.leafPEM(t, "db.example.com", false), t0.Add(-time.Hour))
	var logs lockedBuffer
	src := &getOnlySource{fakeSource: h.src, refuse: true}
	a := h.agent(t, func(d *Deps) { d.Source, d.Logger = src, slog.New(slog.NewTextHandler(&logs, nil)) })
	st := a.SyncOnce(context.Background())
	a.SyncOnce(context.Background())
	for _, c := range st.Certificates {
		if c.Notice != GetOnlyNotice || !c.Installed() {
			t.Errorf("%s: installed %q, notice %q", c.Key, c.InstalledVersion, c.Notice)
		}
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Errorf("%d WARN lines for two get-only secrets of one vault, want 1:\n%s", n, logs.String())
	}
}
