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

	"github.com/akvvm/akvvm/internal/keyvault"
)

// twoInstalled installs v1, then v2 as current, with the default Linux
// rules (one version wanted, two kept).
func twoInstalled(t *testing.T, h *harness) *Agent {
	t.Helper()
	h.addVersion(t, "v1", 2*time.Hour)
	a := h.agent(t, nil)
	a.SyncOnce(context.Background())
	h.clock.Advance(time.Minute)
	h.addVersion(t, "v2", 0)
	a.SyncOnce(context.Background())
	if got := h.store.versions(h.ref); !reflect.DeepEqual(got, []string{"v2", "v1"}) {
		t.Fatalf("installed = %v, want [v2 v1]", got)
	}
	return a
}

func TestWithdrawnNewestRollsBackAndComesForwardAgain(t *testing.T) {
	for _, tc := range []struct {
		name     string
		withdraw func(h *harness)
		restore  func(h *harness)
		reason   string
	}{
		{"disabled",
			func(h *harness) { h.src.edit("web", "v2", func(v *keyvault.Version) { v.Enabled = false }) },
			func(h *harness) { h.src.edit("web", "v2", func(v *keyvault.Version) { v.Enabled = true }) },
			"disabled in the vault"},
		{"expired",
			func(h *harness) {
				h.src.edit("web", "v2", func(v *keyvault.Version) { v.Expires = h.clock.Now().Add(-time.Second) })
			},
			func(h *harness) { h.src.edit("web", "v2", func(v *keyvault.Version) { v.Expires = time.Time{} }) },
			"expired"},
		{"not yet valid",
			func(h *harness) {
				h.src.edit("web", "v2", func(v *keyvault.Version) { v.NotBefore = h.clock.Now().Add(time.Hour) })
			},
			func(h *harness) { h.src.edit("web", "v2", func(v *keyvault.Version) { v.NotBefore = time.Time{} }) },
			"not valid before"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			a := twoInstalled(t, h)
			_, gets := h.src.counts()

			tc.withdraw(h)
			st := a.SyncOnce(context.Background())
			c := st.Certificates[0]
			if c.InstalledVersion != "v1" || c.LastError != "" {
				t.Fatalf("after withdrawing v2: current %s, error %q; want v1 and no error", c.InstalledVersion, c.LastError)
			}
			if got := h.store.versions(h.ref); !reflect.DeepEqual(got, []string{"v1"}) {
				t.Errorf("installed = %v; the withdrawn v2 should be removed", got)
			}
			if !strings.Contains(c.Notice, "v2 ("+tc.reason) || !strings.Contains(st.Message, "withdrawn") {
				t.Errorf("status does not name the withdrawal: notice %q, message %q", c.Notice, st.Message)
			}
			if _, after := h.src.counts(); after != gets {
				t.Errorf("rolling back downloaded %d values; v1 was installed", after-gets)
			}

			tc.restore(h)
			st = a.SyncOnce(context.Background())
			if c := st.Certificates[0]; c.InstalledVersion != "v2" || c.Notice != "" {
				t.Errorf("after restoring v2: current %s, notice %q; want v2 and no notice", c.InstalledVersion, c.Notice)
			}
		})
	}
}

func TestVersionNoLongerListedRollsBack(t *testing.T) {
	h := newHarness(t)
	a := twoInstalled(t, h)
	h.src.drop("web", "v2")
	st := a.SyncOnce(context.Background())
	if c := st.Certificates[0]; c.InstalledVersion != "v1" || !strings.Contains(c.Notice, "no longer listed") {
		t.Errorf("current %s, notice %q; want v1 and the reason", c.InstalledVersion, c.Notice)
	}
	if got := h.store.versions(h.ref); !reflect.DeepEqual(got, []string{"v1"}) {
		t.Errorf("installed = %v, want [v1]", got)
	}
}

func TestRollbackRunsTheReloadHookAndSaysSo(t *testing.T) {
	out := filepath.Join(t.TempDir(), "hook.out")
	h := newHarness(t)
	h.spec.Certificates[0].Reload = &Hook{Command: []string{"sh", "-c", `echo "$AKVVM_VERSION $AKVVM_PREVIOUS_VERSION ${AKVVM_ROLLBACK:-0}" >> ` + out}}
	a := twoInstalled(t, h)
	var events []Event
	a.deps.Notifiers = []Notifier{notifierFunc(func(e Event) { events = append(events, e) })}
	h.src.edit("web", "v2", func(v *keyvault.Version) { v.Enabled = false })
	a.SyncOnce(context.Background())
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if got := lines[len(lines)-1]; got != "v1 v2 1" {
		t.Errorf("hook saw %q after the rollback, want \"v1 v2 1\"", got)
	}
	if len(events) != 1 || !events[0].Rollback || events[0].Bundle != nil || events[0].Previous.Version != "v2" || events[0].Installed.Version != "v1" {
		t.Errorf("events = %+v, want one rollback v2 -> v1 without a bundle", events)
	}
}

func TestRollbackWithRenewalLinkRemovesTheWithdrawnVersionOneCheckLater(t *testing.T) {
	h := newHarness(t)
	h.spec.Certificates[0].Target.LinkOnRenewal = true
	a := twoInstalled(t, h)
	h.src.edit("web", "v2", func(v *keyvault.Version) { v.Enabled = false })
	st := a.SyncOnce(context.Background())
	if got := h.store.versions(h.ref); !reflect.DeepEqual(got, []string{"v1", "v2"}) {
		t.Errorf("installed after the rollback = %v; v2 should stay one check for the renewal link", got)
	}
	if c := st.Certificates[0]; !strings.Contains(c.Notice, "kept for now: v2") {
		t.Errorf("notice %q does not say v2 is kept for now", c.Notice)
	}
	a.SyncOnce(context.Background())
	if got := h.store.versions(h.ref); !reflect.DeepEqual(got, []string{"v1"}) {
		t.Errorf("installed one check later = %v, want [v1]", got)
	}
}

func TestRollbackToAVersionNotInstalledDownloadsIt(t *testing.T) {
	h := newHarness(t)
	h.spec.Keep = 0 // 1.0/3.0 keep every usable version; this store has only v2
	h.addVersion(t, "v1", 2*time.Hour)
	h.addVersion(t, "v2", time.Hour)
	a := h.agent(t, nil)
	a.SyncOnce(context.Background())
	h.src.edit("web", "v2", func(v *keyvault.Version) { v.Enabled = false })
	st := a.SyncOnce(context.Background())
	if c := st.Certificates[0]; c.InstalledVersion != "v1" || c.LastError != "" {
		t.Errorf("current %s, error %q; want v1 downloaded and current", c.InstalledVersion, c.LastError)
	}
	if got := h.store.versions(h.ref); !reflect.DeepEqual(got, []string{"v1"}) {
		t.Errorf("installed = %v, want [v1]", got)
	}
}

func TestNothingUsableKeepsTheInstalledVersionAndSaysSo(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "v1", time.Hour)
	a := h.agent(t, nil)
	a.SyncOnce(context.Background())
	h.src.edit("web", "v1", func(v *keyvault.Version) { v.Enabled = false })
	st := a.SyncOnce(context.Background())
	c := st.Certificates[0]
	if got := h.store.versions(h.ref); !reflect.DeepEqual(got, []string{"v1"}) {
		t.Errorf("installed = %v; with nothing usable the withdrawn v1 must stay", got)
	}
	if c.InstalledVersion != "v1" || !strings.Contains(c.LastError, "no enabled, currently valid version") || !strings.Contains(c.LastError, "v1 are kept until a usable version appears") {
		t.Errorf("current %s, error %q; want v1 kept and said so", c.InstalledVersion, c.LastError)
	}
}

func TestSecretGoneKeepsTheInstalledVersionAndSaysSo(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "v1", time.Hour)
	a := h.agent(t, nil)
	a.SyncOnce(context.Background())
	h.src.setFail(kvError(http.StatusNotFound, "SecretNotFound", "web"))
	st := a.SyncOnce(context.Background())
	if c := st.Certificates[0]; c.InstalledVersion != "v1" || !strings.Contains(c.LastError, "gone from the vault") || c.HTTPStatus != http.StatusNotFound {
		t.Errorf("current %s, error %q (HTTP %d); want v1 kept, the 404 and why", c.InstalledVersion, c.LastError, c.HTTPStatus)
	}
	if got := h.store.versions(h.ref); !reflect.DeepEqual(got, []string{"v1"}) {
		t.Errorf("installed = %v, want [v1]", got)
	}
}

func TestSchema40RollbackKeepsTwoWithoutDownloadingOlderOnes(t *testing.T) {
	h := newHarness(t)
	h.spec.Versions = 2
	h.addVersion(t, "v1", 3*time.Hour)
	h.addVersion(t, "v2", 2*time.Hour)
	h.addVersion(t, "v3", time.Hour)
	a := h.agent(t, nil)
	a.SyncOnce(context.Background()) // v3 current, v2 installed
	_, gets := h.src.counts()
	h.src.edit("web", "v3", func(v *keyvault.Version) { v.Enabled = false })
	st := a.SyncOnce(context.Background())
	if c := st.Certificates[0]; c.InstalledVersion != "v2" {
		t.Errorf("current = %s, want v2", c.InstalledVersion)
	}
	if got := h.store.versions(h.ref); !reflect.DeepEqual(got, []string{"v2"}) {
		t.Errorf("installed = %v, want [v2]", got)
	}
	if _, after := h.src.counts(); after != gets {
		t.Errorf("the rollback downloaded %d values, want none", after-gets)
	}
}

func TestPinnedVersionInstalledButNotCurrentIsMadeCurrent(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "v1", 2*time.Hour)
	h.addVersion(t, "v2", time.Hour)
	h.spec.Keep = 0
	a := h.agent(t, nil)
	a.SyncOnce(context.Background()) // v2
	h.spec.Certificates[0].PinnedVersion = "v1"
	a.setSpec(h.spec)
	a.SyncOnce(context.Background()) // v1 downloaded, current
	h.spec.Certificates[0].PinnedVersion = "v2"
	a.setSpec(h.spec)
	_, gets := h.src.counts()
	st := a.SyncOnce(context.Background())
	if st.Certificates[0].InstalledVersion != "v2" || h.store.switches != 1 {
		t.Errorf("current %s after %d switches; want v2 made current", st.Certificates[0].InstalledVersion, h.store.switches)
	}
	if _, after := h.src.counts(); after != gets {
		t.Errorf("pinning an installed version downloaded %d values", after-gets)
	}
}

type notifierFunc func(Event)

func (f notifierFunc) Notify(_ context.Context, e Event) error { f(e); return nil }

// stopClock is a fakeClock that cancels the run once time passes end.
type stopClock struct {
	*fakeClock
	end    time.Time
	cancel context.CancelFunc
}

func (c stopClock) After(d time.Duration) <-chan time.Time {
	ch := c.fakeClock.After(d)
	if c.Now().After(c.end) {
		c.cancel()
	}
	return ch
}

func TestCertificatesDueTogetherShareAPass(t *testing.T) {
	const n, hours = 200, 5
	h := newHarness(t)
	h.spec.Certificates = nil
	for i := range n {
		name := "c" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26))
		h.src.add(name, "v1", h.pki.leafPEM(t, name+".example.com", false), t0.Add(-time.Hour))
		c := CertSpec{Ref: h.ref, VaultURL: "https://v.vault.azure.net", URL: "https://v.vault.azure.net/secrets/" + name}
		c.Name = name
		h.spec.Certificates = append(h.spec.Certificates, c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	status := filepath.Join(t.TempDir(), "status.json")
	a := h.agent(t, func(d *Deps) {
		d.Clock = stopClock{fakeClock: h.clock, end: t0.Add(hours * time.Hour), cancel: cancel}
		d.StatusFile = status
	})
	if err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}
	lists, _ := h.src.counts()
	if lists < n*(hours-1) { // the first pass fetches without listing
		t.Fatalf("only %d checks in %d hours of %d certificates", lists, hours, n)
	}
	// Each certificate's hourly check is jittered by ±6 minutes. Those due
	// within a minute of the first join its pass, so there are at most 60
	// passes an hour, whatever the number of certificates (one pass per
	// certificate would be 200).
	if perHour := h.store.recovers / hours; perHour > int(time.Hour/batchWindow) {
		t.Errorf("%d passes (status writes) an hour for %d certificates checked hourly, want at most %d", perHour, n, time.Hour/batchWindow)
	}
}

func TestStatusTempFilesOfAKilledAgentAreRemoved(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "v1", time.Hour)
	dir := t.TempDir()
	status := filepath.Join(dir, "status.json")
	left := filepath.Join(dir, ".status.json.tmp-12345")
	if err := os.WriteFile(left, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := h.agent(t, func(d *Deps) { d.StatusFile = status })
	a.SyncOnce(context.Background())
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Errorf("temporary status file of a killed agent still there: %v", err)
	}
	if _, err := ReadStatusFile(status); err != nil {
		t.Error(err)
	}
}

func TestSameSecondVersionsAllInstalledNeverFlipTheCurrent(t *testing.T) {
	t.Run("4.0, both installed", func(t *testing.T) {
		h := newHarness(t)
		h.spec.Versions = 2
		h.addVersion(t, "ffff", 0)
		h.addVersion(t, "aaaa", 0) // same second; set last, so the vault's current
		a := h.agent(t, nil)
		for range 3 {
			if st := a.SyncOnce(context.Background()); st.Certificates[0].InstalledVersion != "aaaa" {
				t.Fatalf("current = %s, want the vault's current aaaa", st.Certificates[0].InstalledVersion)
			}
		}
		if h.store.switches != 0 {
			t.Errorf("%d switches between versions of one second; want none", h.store.switches)
		}
	})
	t.Run("Linux, the newer one arrives later in the same second", func(t *testing.T) {
		h := newHarness(t)
		h.addVersion(t, "ffff", 0)
		a := h.agent(t, nil)
		a.SyncOnce(context.Background())
		h.addVersion(t, "aaaa", 0)
		for range 3 {
			if st := a.SyncOnce(context.Background()); st.Certificates[0].InstalledVersion != "aaaa" {
				t.Fatalf("current = %s, want the vault's current aaaa", st.Certificates[0].InstalledVersion)
			}
		}
		if h.store.switches != 0 {
			t.Errorf("%d switches back to ffff; want none", h.store.switches)
		}
	})
}

func TestRecordedVersionWhoseFileVanishedIsForgotten(t *testing.T) {
	h := newHarness(t)
	a := twoInstalled(t, h)
	// v1's file was deleted outside akvvm: the store lists only v2 and
	// reports v1 as missing.
	h.store.items[h.ref] = h.store.items[h.ref][:1]
	h.store.gone[h.ref] = []string{"v1"}
	_, gets := h.src.counts()
	a.SyncOnce(context.Background())
	if g := h.store.gone[h.ref]; len(g) != 0 {
		t.Errorf("still recorded as missing after a pass: %v", g)
	}
	if _, after := h.src.counts(); after != gets {
		t.Errorf("forgetting an old version downloaded %d values", after-gets)
	}
	if got := h.store.versions(h.ref); !reflect.DeepEqual(got, []string{"v2"}) {
		t.Errorf("installed = %v, want [v2]", got)
	}
}

func TestRollbackThatDownloadsIsStillARollback(t *testing.T) {
	h := newHarness(t)
	h.spec.Keep = 0
	h.addVersion(t, "v1", 2*time.Hour)
	h.addVersion(t, "v2", time.Hour)
	a := h.agent(t, nil) // installs only v2
	var events []Event
	a.deps.Notifiers = []Notifier{notifierFunc(func(e Event) { events = append(events, e) })}
	a.SyncOnce(context.Background())
	h.src.edit("web", "v2", func(v *keyvault.Version) { v.Enabled = false })
	a.SyncOnce(context.Background())
	if n := len(events); n != 2 || !events[1].Rollback || events[1].Installed.Version != "v1" || events[1].Bundle == nil {
		t.Fatalf("events = %+v; want the download of v1 reported as a rollback from v2", events)
	}

	// A newer version arriving with the withdrawal is a renewal.
	h.clock.Advance(time.Minute)
	h.addVersion(t, "v3", 0)
	h.src.edit("web", "v1", func(v *keyvault.Version) { v.Enabled = false })
	a.SyncOnce(context.Background())
	if last := events[len(events)-1]; last.Installed.Version != "v3" || last.Rollback {
		t.Errorf("last event = %+v; want v3 as a renewal", last)
	}
}

func TestWithdrawnVersionThatCannotBeRemovedIsInTheStatus(t *testing.T) {
	h := newHarness(t)
	a := twoInstalled(t, h)
	h.store.failDelete = errors.New("permission denied")
	h.src.edit("web", "v2", func(v *keyvault.Version) { v.Enabled = false })
	st := a.SyncOnce(context.Background())
	if n := st.Certificates[0].Notice; !strings.Contains(n, "could not remove withdrawn version(s) v2") || !strings.Contains(n, "permission denied") {
		t.Errorf("notice = %q; want the failed removal of v2 and its cause", n)
	}
}

func TestFirstInstallListsOnlyWhenTheCurrentVersionIsNotUsable(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "v1", 2*time.Hour)
	h.addVersion(t, "v2", time.Hour)
	h.src.edit("web", "v2", func(v *keyvault.Version) { v.Enabled = false })
	a := h.agent(t, nil)
	st := a.SyncOnce(context.Background())
	if c := st.Certificates[0]; c.InstalledVersion != "v1" {
		t.Fatalf("installed %q; the current v2 is disabled, want v1", c.InstalledVersion)
	}
	if lists, gets := h.src.counts(); lists != 1 || gets != 2 {
		t.Errorf("%d lists and %d gets; want the current version fetched, then a listing and v1's download", lists, gets)
	}
}

func TestStatusKeepsNamingAWithdrawalWhileItHolds(t *testing.T) {
	h := newHarness(t)
	a := twoInstalled(t, h)
	h.src.edit("web", "v2", func(v *keyvault.Version) { v.Enabled = false })
	a.SyncOnce(context.Background()) // back to v1, v2 removed
	for range 2 {
		st := a.SyncOnce(context.Background())
		if n := st.Certificates[0].Notice; !strings.Contains(n, "v2 (disabled in the vault)") || !strings.Contains(n, "v1 is current") {
			t.Fatalf("notice %q; while v2 stays disabled the status should say so", n)
		}
	}
	if got := h.store.versions(h.ref); !reflect.DeepEqual(got, []string{"v1"}) {
		t.Errorf("installed = %v, want [v1]", got)
	}
	h.src.edit("web", "v2", func(v *keyvault.Version) { v.Enabled = true })
	if st := a.SyncOnce(context.Background()); st.Certificates[0].InstalledVersion != "v2" || st.Certificates[0].Notice != "" {
		t.Errorf("after enabling v2: %+v", st.Certificates[0])
	}
}

func TestWithdrawnCurrentIsReplacedEvenWhenTheNewVersionCannotBeInstalled(t *testing.T) {
	h := newHarness(t)
	a := twoInstalled(t, h)
	h.src.edit("web", "v2", func(v *keyvault.Version) { v.Enabled = false })
	h.clock.Advance(time.Minute)
	h.src.add("web", "v3", "not a certificate", h.clock.Now())
	st := a.SyncOnce(context.Background())
	c := st.Certificates[0]
	if c.InstalledVersion != "v1" || !strings.Contains(c.LastError, "v3 is not a usable certificate") {
		t.Errorf("current %s, error %q; want v1 (usable, installed) and v3's failure", c.InstalledVersion, c.LastError)
	}
	if got := h.store.versions(h.ref); !reflect.DeepEqual(got, []string{"v1"}) {
		t.Errorf("installed = %v; the withdrawn v2 must go even though v3 failed", got)
	}
	if !strings.Contains(c.Notice, "v2 (disabled in the vault)") {
		t.Errorf("notice %q does not name the withdrawal", c.Notice)
	}
}

func TestSchema40OlderVersionFailingIsSkippedNotBlocking(t *testing.T) {
	h := newHarness(t)
	h.spec.Versions = 2
	h.addVersion(t, "v1", 2*time.Hour)
	h.addVersion(t, "v2", time.Hour)
	h.src.failVersion = map[string]error{"v1": kvError(http.StatusInternalServerError, "InternalError", "web")}
	a := h.agent(t, nil)
	st := a.SyncOnce(context.Background())
	c := st.Certificates[0]
	if c.InstalledVersion != "v2" || c.LastError != "" || st.Phase != Success {
		t.Errorf("current %s, error %q, phase %s; want v2 installed although the older v1 failed", c.InstalledVersion, c.LastError, st.Phase)
	}
	if !strings.Contains(c.Notice, "older version v1 not installed") {
		t.Errorf("notice %q does not say v1 was skipped", c.Notice)
	}
}

func TestSchema40NewestFailingTheChainCheckInstallsNothing(t *testing.T) {
	h := newHarness(t)
	h.spec.Versions, h.spec.VerifyChain = 2, true
	h.src.add("web", "v1", h.pki.leafPEM(t, "web.example.com", false), t0.Add(-2*time.Hour))
	h.src.add("web", "v2", h.pki.leafPEM(t, "web.example.com", true), t0.Add(-time.Hour)) // self-signed
	roots := x509.NewCertPool()
	roots.AddCert(h.pki.root)
	a := h.agent(t, func(d *Deps) { d.Verify.Roots = roots })
	st := a.SyncOnce(context.Background())
	if c := st.Certificates[0]; st.Phase != Error || c.InstalledVersion != "" || !c.Fatal {
		t.Errorf("phase %s, installed %q, fatal %v; a newest version failing the chain check ends the initial sync, with nothing installed", st.Phase, c.InstalledVersion, c.Fatal)
	}
	if n := h.store.installs; n != 0 {
		t.Errorf("%d installs; the older version must not be installed alone", n)
	}
}

func TestFirstInstallReportsTheVaultsErrorWithoutListing(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "v1", time.Hour)
	h.src.failGetLatest = kvError(http.StatusServiceUnavailable, "ServiceUnavailable", "web")
	a := h.agent(t, nil)
	st := a.SyncOnce(context.Background())
	if c := st.Certificates[0]; c.HTTPStatus != http.StatusServiceUnavailable || c.Attempts != 1 {
		t.Errorf("status %+v; want the 503 as the attempt's cause", c)
	}
	if lists, _ := h.src.counts(); lists != 0 {
		t.Errorf("%d listings after a failed fetch; one request per attempt is enough", lists)
	}
}

func TestTieBelowANewerDisabledVersionAsksNothing(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "bbbb", time.Hour)
	h.addVersion(t, "cccc", time.Hour) // same second as bbbb
	h.addVersion(t, "v9", 0)
	h.src.edit("web", "v9", func(v *keyvault.Version) { v.Enabled = false })
	a := h.agent(t, nil)
	st := a.SyncOnce(context.Background())
	if c := st.Certificates[0]; c.InstalledVersion == "" || c.LastError != "" {
		t.Errorf("installed %q, error %q; the vault's current v9 is newer and disabled, so the tie cannot be the current one", c.InstalledVersion, c.LastError)
	}
}

func TestTieAnswerIsRememberedAndFollowsAReEnable(t *testing.T) {
	h := newHarness(t)
	h.spec.Versions, h.spec.Certificates[0].Target.LinkOnRenewal = 2, true
	h.addVersion(t, "ffff", 0)
	h.addVersion(t, "aaaa", 0) // same second; the vault's current
	a := h.agent(t, nil)
	a.SyncOnce(context.Background())
	h.src.edit("web", "aaaa", func(v *keyvault.Version) { v.Enabled = false })
	if st := a.SyncOnce(context.Background()); st.Certificates[0].InstalledVersion != "ffff" {
		t.Fatalf("after disabling aaaa: current %s, want ffff", st.Certificates[0].InstalledVersion)
	}
	h.src.edit("web", "aaaa", func(v *keyvault.Version) { v.Enabled = true })
	if st := a.SyncOnce(context.Background()); st.Certificates[0].InstalledVersion != "aaaa" {
		t.Errorf("after enabling aaaa again: current %s, want the vault's current aaaa", st.Certificates[0].InstalledVersion)
	}
	_, gets := h.src.counts()
	for range 3 {
		a.SyncOnce(context.Background())
	}
	if _, after := h.src.counts(); after != gets {
		t.Errorf("%d downloads in unchanged polls of a tie; the answer is remembered", after-gets)
	}
}

func TestRecreatedSecretIsARenewalNotARollback(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "v1", time.Hour)
	a := h.agent(t, nil)
	var events []Event
	a.deps.Notifiers = []Notifier{notifierFunc(func(e Event) { events = append(events, e) })}
	a.SyncOnce(context.Background())
	h.clock.Advance(time.Minute)
	h.src.drop("web", "v1")
	h.addVersion(t, "v2", 0)
	a.SyncOnce(context.Background())
	if last := events[len(events)-1]; last.Installed.Version != "v2" || last.Rollback {
		t.Errorf("last event %+v; a version created after v1 was installed is a renewal", last)
	}
}

func TestNewerVersionNotYetValidIsNotCalledWithdrawn(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "v1", time.Hour)
	a := h.agent(t, nil)
	a.SyncOnce(context.Background())
	h.addVersion(t, "v2", 0)
	h.src.edit("web", "v2", func(v *keyvault.Version) { v.NotBefore = h.clock.Now().Add(time.Hour) })
	st := a.SyncOnce(context.Background())
	c := st.Certificates[0]
	if n := c.Notice; strings.Contains(n, "withdrawn") || strings.Contains(n, "v2") {
		t.Errorf("notice %q; v2 is pending, neither withdrawn nor unused", n)
	}
	if !strings.HasPrefix(c.Pending, "version v2 pending until ") || !strings.Contains(c.Pending, "(not valid before ") {
		t.Errorf("pending %q", c.Pending)
	}
}
