package agent

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/certbundle"
	"github.com/akvvm/akvvm/internal/store"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

type harness struct {
	src   *fakeSource
	store *memStore
	clock *fakeClock
	pki   *testPKI
	spec  Spec
	ref   store.Ref
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ref := store.Ref{Vault: "v", Name: "web"}
	return &harness{
		src: newFakeSource(), store: newMemStore(), clock: &fakeClock{now: t0}, pki: newTestPKI(t), ref: ref,
		spec: Spec{
			Certificates: []CertSpec{{Ref: ref, VaultURL: "https://v.vault.azure.net", URL: "https://v.vault.azure.net/secrets/web"}},
			Interval:     time.Hour, Versions: 1, Keep: 2,
			InitialSync: InitialSync{Wait: true, MaxAttempts: 25},
		},
	}
}

func (h *harness) agent(t *testing.T, mutate func(*Deps)) *Agent {
	t.Helper()
	deps := Deps{Source: h.src, Store: h.store, Clock: h.clock, Identity: "system-assigned identity"}
	if mutate != nil {
		mutate(&deps)
	}
	a, err := New(h.spec, deps)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (h *harness) addVersion(t *testing.T, version string, age time.Duration) {
	t.Helper()
	h.src.add("web", version, h.pki.leafPEM(t, "web.example.com", false), h.clock.Now().Add(-age))
}

func TestInitialSyncThenUnchangedPollWritesNothing(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "v1", time.Hour)
	a := h.agent(t, nil)

	s := a.SyncOnce(context.Background())
	if s.Phase != Success || s.Certificates[0].InstalledVersion != "v1" {
		t.Fatalf("after first sync: %+v", s)
	}
	if _, gets := h.src.counts(); gets != 1 {
		t.Errorf("first sync made %d secret downloads, want 1", gets)
	}

	s = a.SyncOnce(context.Background())
	lists, gets := h.src.counts()
	if gets != 1 || h.store.installs != 1 {
		t.Errorf("unchanged poll downloaded %d and installed %d times in total, want 1 and 1", gets, h.store.installs)
	}
	if lists != 1 {
		t.Errorf("the first sync fetches the current version without a listing, an unchanged poll lists versions (metadata) once; lists = %d, want 1", lists)
	}
	if s.Certificates[0].LastError != "" {
		t.Errorf("unexpected error: %s", s.Certificates[0].LastError)
	}
}

func TestRotationInstallsNewVersionAndKeepsTwo(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "v1", 3*time.Hour)
	a := h.agent(t, nil)
	a.SyncOnce(context.Background())
	for _, v := range []string{"v2", "v3"} {
		h.clock.Advance(time.Minute)
		h.addVersion(t, v, 0)
		a.SyncOnce(context.Background())
	}
	if got, want := h.store.versions(h.ref), []string{"v3", "v2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("installed versions = %v, want %v", got, want)
	}
	if got := a.Status().Certificates[0].InstalledVersion; got != "v3" {
		t.Errorf("status shows %s, want v3", got)
	}
}

func TestSchema40InstallsTwoNewestOldestFirst(t *testing.T) {
	h := newHarness(t)
	h.spec.Versions = 2
	h.addVersion(t, "v1", 3*time.Hour)
	h.addVersion(t, "v2", 2*time.Hour)
	h.addVersion(t, "v3", time.Hour)
	a := h.agent(t, nil)
	a.SyncOnce(context.Background())
	if got, want := h.store.versions(h.ref), []string{"v3", "v2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("installed (newest first) = %v, want %v", got, want)
	}
}

func TestPinnedVersionNeedsNoListing(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "v1", 2*time.Hour)
	h.addVersion(t, "v2", time.Hour)
	h.spec.Certificates[0].PinnedVersion = "v1"
	a := h.agent(t, nil)
	a.SyncOnce(context.Background())
	a.SyncOnce(context.Background())
	if got := h.store.versions(h.ref); !reflect.DeepEqual(got, []string{"v1"}) {
		t.Errorf("installed = %v, want only the pinned v1", got)
	}
	if lists, gets := h.src.counts(); lists != 0 || gets != 1 {
		t.Errorf("pinned version: %d lists, %d gets; want 0 and 1", lists, gets)
	}
}

func TestInitialSyncGivesUpAfterMaxAttempts(t *testing.T) {
	h := newHarness(t)
	h.src.setFail(kvError(http.StatusForbidden, "Forbidden", "web"))
	var phases []Phase
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := h.agent(t, nil)
	for i := 0; i < 30; i++ {
		a.pass(ctx, a.due())
		phases = append(phases, a.Status().Phase)
		h.clock.Advance(a.untilNext())
	}
	st := a.Status()
	c := st.Certificates[0]
	if phases[23] != Transitioning || phases[24] != Error {
		t.Errorf("phase after attempt 24 = %s, after 25 = %s; want transitioning then error", phases[23], phases[24])
	}
	if !strings.Contains(st.Message, "HTTP 403") || !strings.Contains(st.Message, "system-assigned identity") {
		t.Errorf("error message lacks the cause or identity: %s", st.Message)
	}
	if c.HTTPStatus != 403 || c.ErrorCode != "Forbidden" {
		t.Errorf("status code/error code = %d/%q", c.HTTPStatus, c.ErrorCode)
	}
	// The back-off grows: the 25 attempts span more than an hour of (fake) time.
	if elapsed := h.clock.Now().Sub(t0); elapsed < time.Hour {
		t.Errorf("25 attempts took only %s of back-off", elapsed)
	}

	// Access granted later: the next poll installs and the state turns to success.
	h.src.setFail(nil)
	h.addVersion(t, "v1", 0)
	h.clock.Advance(2 * time.Hour)
	a.pass(ctx, a.due())
	if st := a.Status(); st.Phase != Success {
		t.Errorf("after access was granted: %s %s", st.Phase, st.Message)
	}
}

func TestSchema10RequireInitialSyncRetriesForever(t *testing.T) {
	h := newHarness(t)
	h.spec.InitialSync = InitialSync{Wait: true, MaxAttempts: 0}
	h.src.setFail(errors.New("dial tcp: connection refused"))
	a := h.agent(t, nil)
	for i := 0; i < 60; i++ {
		a.pass(context.Background(), a.due())
		h.clock.Advance(a.untilNext())
	}
	if st := a.Status(); st.Phase != Transitioning || !strings.Contains(st.Message, "connection refused") {
		t.Errorf("1.0 requireInitialSync after 60 failures: %s %s", st.Phase, st.Message)
	}
}

func TestSchema10WithoutInitialSyncSucceedsAtOnce(t *testing.T) {
	h := newHarness(t)
	h.spec.InitialSync = InitialSync{}
	h.src.setFail(errors.New("dial tcp: connection refused"))
	a := h.agent(t, nil)
	if st := a.Status(); st.Phase != Success {
		t.Errorf("before the first poll: %s, want success", st.Phase)
	}
	a.SyncOnce(context.Background())
	st := a.Status()
	if st.Phase != Success || st.Certificates[0].LastError == "" {
		t.Errorf("after a failed poll: phase %s, cert error %q", st.Phase, st.Certificates[0].LastError)
	}
}

func TestFailureKeepsInstalledVersionAndHonoursRetryAfter(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "v1", time.Hour)
	a := h.agent(t, nil)
	a.SyncOnce(context.Background())

	err := kvError(http.StatusTooManyRequests, "Throttled", "web")
	resp := errAsResponse(t, err)
	resp.Header.Set("Retry-After", "900")
	h.src.setFail(err)
	st := a.SyncOnce(context.Background())
	c := st.Certificates[0]
	if c.InstalledVersion != "v1" || st.Phase != Success {
		t.Errorf("a failed poll changed the installed state: %+v", c)
	}
	if c.HTTPStatus != 429 || !strings.Contains(c.LastError, "HTTP 429") {
		t.Errorf("cause not recorded: %+v", c)
	}
	if wait := c.NextCheck.Sub(h.clock.Now()); wait < 15*time.Minute*9/10 {
		t.Errorf("next check in %s ignores Retry-After: 900", wait)
	}
}

func TestChainCheckFailureIsAnErrorAtOnce(t *testing.T) {
	h := newHarness(t)
	h.spec.VerifyChain = true
	h.src.add("web", "v1", h.pki.leafPEM(t, "web.example.com", true), t0.Add(-time.Hour))
	roots := x509.NewCertPool()
	roots.AddCert(h.pki.root)
	a := h.agent(t, func(d *Deps) { d.Verify = certbundle.VerifyOptions{Roots: roots} })
	st := a.SyncOnce(context.Background())
	if st.Phase != Error || !strings.Contains(st.Message, "chain check") {
		t.Errorf("self-signed server cert under 4.0: %s %s", st.Phase, st.Message)
	}
	if h.store.installs != 0 {
		t.Error("a certificate that failed the chain check was installed")
	}

	// A properly chained version passes.
	h.src.add("web", "v2", h.pki.leafPEM(t, "web.example.com", false), t0)
	h.clock.Advance(2 * time.Hour)
	if st := a.SyncOnce(context.Background()); st.Phase != Success {
		t.Errorf("trusted chain: %s %s", st.Phase, st.Message)
	}
}

func TestCorruptSecretIsReportedAndNothingInstalled(t *testing.T) {
	h := newHarness(t)
	h.src.add("web", "v1", "not a certificate", t0)
	a := h.agent(t, nil)
	st := a.SyncOnce(context.Background())
	if h.store.installs != 0 || !strings.Contains(st.Certificates[0].LastError, "not a usable certificate") {
		t.Errorf("corrupt secret: installs=%d error=%q", h.store.installs, st.Certificates[0].LastError)
	}
}

func TestReloadHookRunsAndItsFailureDoesNotUndoInstall(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "hook.out")
	h := newHarness(t)
	h.addVersion(t, "v1", time.Hour)
	h.spec.Certificates[0].Reload = &Hook{Command: []string{"sh", "-c", `echo "$AKVVM_VERSION $AKVVM_THUMBPRINT" >> ` + out}, Timeout: 10 * time.Second}
	a := h.agent(t, nil)
	a.SyncOnce(context.Background())
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("hook did not run: %v", err)
	}
	if !strings.HasPrefix(string(data), "v1 ") {
		t.Errorf("hook saw %q, want the new version in AKVVM_VERSION", data)
	}
	a.SyncOnce(context.Background())
	if data2, _ := os.ReadFile(out); string(data2) != string(data) {
		t.Error("hook ran again on an unchanged poll")
	}

	h.spec.Certificates[0].Reload = &Hook{Command: []string{"sh", "-c", "echo boom >&2; exit 3"}}
	a.Reload(h.spec)
	a.setSpec(<-a.reload)
	h.clock.Advance(time.Minute)
	h.addVersion(t, "v2", 0)
	st := a.SyncOnce(context.Background())
	c := st.Certificates[0]
	if c.InstalledVersion != "v2" || !strings.Contains(c.HookError, "boom") || st.Phase != Success {
		t.Errorf("failed hook: version %s, hook error %q, phase %s", c.InstalledVersion, c.HookError, st.Phase)
	}
}

func TestStatusFileRoundTrip(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "v1", time.Hour)
	path := filepath.Join(t.TempDir(), "status.json")
	a := h.agent(t, func(d *Deps) { d.StatusFile = path })
	want := a.SyncOnce(context.Background())
	got, err := ReadStatusFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Phase != want.Phase || got.Certificates[0].Thumbprint != want.Certificates[0].Thumbprint {
		t.Errorf("status file = %+v, want %+v", got, want)
	}
}

func TestSchema40NeverRollsTheLinkBackToAnOlderVersion(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "v2", time.Hour)
	a := h.agent(t, nil)
	a.SyncOnce(context.Background()) // installs only v2 (Versions: 1)

	// Now two versions are wanted and the older one, v1, appears in the list.
	h.spec.Versions = 2
	a.setSpec(h.spec)
	h.addVersion(t, "v1", 3*time.Hour)
	a.SyncOnce(context.Background())
	if got := h.store.versions(h.ref); !reflect.DeepEqual(got, []string{"v2"}) {
		t.Errorf("installed = %v; installing the older v1 would make it current", got)
	}
}

func TestVersionsCreatedInTheSameSecondAskTheVault(t *testing.T) {
	for _, order := range [][]string{{"aaaa", "ffff"}, {"ffff", "aaaa"}, {"cccc", "ffff", "eeee", "aaaa"}} {
		h := newHarness(t)
		for _, v := range order {
			h.addVersion(t, v, 0) // same Created second; the last one set is current
		}
		a := h.agent(t, nil)
		a.SyncOnce(context.Background())
		current := order[len(order)-1]
		if got := h.store.versions(h.ref); !reflect.DeepEqual(got, []string{current}) {
			t.Errorf("versions %v created in one second: installed %v, want the vault's current %s", order, got, current)
		}
	}
}

func TestSameSecondWithoutAnAnswerIsAnError(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "aaaa", 0)
	h.addVersion(t, "ffff", 0)
	a := h.agent(t, nil)
	a.SyncOnce(context.Background()) // installs ffff
	h.addVersion(t, "bbbb", 0)
	h.addVersion(t, "cccc", 0)
	h.src.failGetLatest = kvError(http.StatusServiceUnavailable, "ServiceUnavailable", "web")
	st := a.SyncOnce(context.Background())
	if got := h.store.versions(h.ref); !reflect.DeepEqual(got, []string{"ffff"}) {
		t.Errorf("installed %v after an unanswered tie; want nothing new", got)
	}
	if !strings.Contains(st.Certificates[0].LastError, "share the newest creation second") {
		t.Errorf("error = %q", st.Certificates[0].LastError)
	}
}

func TestSameSecondVersionsAllInstalledDownloadNothing(t *testing.T) {
	h := newHarness(t)
	h.spec.Versions = 2
	h.addVersion(t, "aaaa", 0)
	h.addVersion(t, "ffff", 0)
	a := h.agent(t, nil)
	a.SyncOnce(context.Background())
	_, before := h.src.counts()
	a.SyncOnce(context.Background())
	if _, after := h.src.counts(); after != before {
		t.Errorf("an unchanged poll of versions sharing a second made %d secret downloads, want 0", after-before)
	}
}
