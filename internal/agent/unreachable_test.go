package agent

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/store"
)

// downSource fails every call to one vault with fail(name) and counts them;
// the other vaults are served by next.
type downSource struct {
	SecretSource
	vault string
	fail  func(name string) error

	mu    sync.Mutex
	calls int
}

func (s *downSource) Versions(ctx context.Context, vaultURL, name string) ([]keyvault.Version, error) {
	if vaultURL == s.vault {
		s.mu.Lock()
		s.calls++
		s.mu.Unlock()
		return nil, s.fail(name)
	}
	return s.SecretSource.Versions(ctx, vaultURL, name)
}

func (s *downSource) Get(ctx context.Context, vaultURL, name, version string) (*keyvault.Secret, error) {
	if vaultURL == s.vault {
		s.mu.Lock()
		s.calls++
		s.mu.Unlock()
		return nil, s.fail(name)
	}
	return s.SecretSource.Get(ctx, vaultURL, name, version)
}

func (s *downSource) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// downHarness observes n certificates at an unreachable vault and web at v.
func downHarness(t *testing.T, n int, fail func(name string) error) (*harness, *downSource) {
	h := newHarness(t)
	h.addVersion(t, "v1", 0)
	src := &downSource{SecretSource: h.src, vault: "https://down.vault.azure.net", fail: fail}
	for i := range n {
		name := fmt.Sprintf("c%02d", i)
		h.spec.Certificates = append(h.spec.Certificates, CertSpec{Ref: store.Ref{Vault: "down", Name: name},
			VaultURL: src.vault, URL: src.vault + "/secrets/" + name})
	}
	return h, src
}

// A vault that does not answer costs one check per pass, not one per
// certificate: the others fail at once with its cause, and the other
// vault's certificate is installed in the same pass.
func TestUnreachableVaultIsTriedOncePerPass(t *testing.T) {
	refused := func(name string) error {
		return keyvault.NewError("get", "https://down.vault.azure.net", name, "",
			fmt.Errorf("dial tcp 10.0.0.1:443: %w", syscall.ECONNREFUSED))
	}
	h, src := downHarness(t, 20, refused)
	a := h.agent(t, func(d *Deps) { d.Source = src; d.Concurrency = 1 })
	st := a.SyncOnce(context.Background())
	if n := src.count(); n != 1 {
		t.Errorf("the unreachable vault was called %d times in one pass, want 1", n)
	}
	skipped := 0
	for _, c := range st.Certificates {
		if c.Key == "v/web" {
			if c.InstalledVersion != "v1" {
				t.Errorf("the other vault's certificate was not installed: %+v", c)
			}
			continue
		}
		if c.Attempts != 1 || !strings.Contains(c.LastError, "refused") {
			t.Errorf("%s: attempts %d, error %q; want attempt 1 failed with the vault's cause", c.Key, c.Attempts, c.LastError)
		}
		if strings.Contains(c.LastError, "not checked in this pass") {
			skipped++
		}
	}
	if skipped != 19 {
		t.Errorf("%d certificates say they were not checked, want 19", skipped)
	}
	if !strings.Contains(st.Message, "19 certificates") {
		t.Errorf("the overall message does not group the skipped certificates: %s", st.Message)
	}
	h.clock.Advance(AttemptBudget * 4)
	a.SyncOnce(context.Background())
	if n := src.count(); n != 2 {
		t.Errorf("after a second pass the vault was called %d times, want 2", n)
	}
}

// A refusal of one secret (403, 404) says nothing about the others: each
// is still checked.
func TestRefusalOfOneSecretChecksTheOthers(t *testing.T) {
	forbidden := func(name string) error { return kvError(http.StatusForbidden, "Forbidden", name) }
	h, src := downHarness(t, 5, forbidden)
	st := h.agent(t, func(d *Deps) { d.Source = src; d.Concurrency = 1 }).SyncOnce(context.Background())
	if n := src.count(); n < 5 {
		t.Errorf("the vault was called %d times for 5 refused secrets, want each checked", n)
	}
	for _, c := range st.Certificates {
		if strings.Contains(c.LastError, "not checked") {
			t.Errorf("%s was not checked after another secret's 403: %s", c.Key, c.LastError)
		}
	}
}

// Certificates of two vaults that do not answer (the identity failing, say)
// share their next check, so their next attempts share one pass and one
// budget; each vault is tried once per pass.
func TestUnreachableVaultsRetryTogether(t *testing.T) {
	noToken := func(vault string) func(string) error {
		return func(name string) error {
			return keyvault.NewError("get", vault, name, "", fmt.Errorf("identity: connection to 169.254.169.254 %w", syscall.ECONNREFUSED))
		}
	}
	h, first := downHarness(t, 6, noToken("https://down.vault.azure.net"))
	second := &downSource{SecretSource: first, vault: "https://other.vault.azure.net", fail: noToken("https://other.vault.azure.net")}
	for i := range 6 {
		name := fmt.Sprintf("o%02d", i)
		h.spec.Certificates = append(h.spec.Certificates, CertSpec{Ref: store.Ref{Vault: "other", Name: name},
			VaultURL: second.vault, URL: second.vault + "/secrets/" + name})
	}
	a := h.agent(t, func(d *Deps) { d.Source = second })
	for pass := 1; pass <= 3; pass++ {
		st := a.SyncOnce(context.Background())
		if first.count() != pass || second.count() != pass {
			t.Fatalf("after pass %d the vaults were called %d and %d times, want %d each", pass, first.count(), second.count(), pass)
		}
		next := map[time.Time]int{}
		for _, c := range st.Certificates {
			if c.Key != "v/web" {
				next[c.NextCheck]++
			}
		}
		if len(next) != 1 {
			t.Errorf("pass %d: the 12 failed certificates have %d different next checks, want one: %v", pass, len(next), next)
		}
		h.clock.Advance(10 * time.Minute)
	}
}

// quickBudgetClock is the real clock with each check's budget cut to a
// few milliseconds.
type quickBudgetClock struct{ realClock }

func (quickBudgetClock) WithTimeout(ctx context.Context, _ time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, 20*time.Millisecond)
}

// silentVaults never answer: every call waits for its context and counts
// how many wait at once.
type silentVaults struct {
	noVaultList
	mu             sync.Mutex
	inFlight, most int
}

func (s *silentVaults) wait(ctx context.Context, vaultURL, name string) error {
	s.mu.Lock()
	s.inFlight++
	s.most = max(s.most, s.inFlight)
	s.mu.Unlock()
	<-ctx.Done()
	s.mu.Lock()
	s.inFlight--
	s.mu.Unlock()
	return keyvault.NewError("get", vaultURL, name, "", ctx.Err())
}

func (s *silentVaults) Versions(ctx context.Context, vaultURL, name string) ([]keyvault.Version, error) {
	return nil, s.wait(ctx, vaultURL, name)
}

func (s *silentVaults) Get(ctx context.Context, vaultURL, name, _ string) (*keyvault.Secret, error) {
	return nil, s.wait(ctx, vaultURL, name)
}

// Eight vaults that do not answer are probed side by side, whatever the
// concurrency: the pass costs one budget, not eight, and each vault's
// other certificates are not tried.
func TestSilentVaultsAreProbedSideBySide(t *testing.T) {
	h := newHarness(t)
	h.spec.Certificates = nil
	for v := range 8 {
		vault := fmt.Sprintf("https://v%d.vault.azure.net", v)
		for i := range 3 {
			name := fmt.Sprintf("c%d", i)
			h.spec.Certificates = append(h.spec.Certificates, CertSpec{Ref: store.Ref{Vault: fmt.Sprintf("v%d", v), Name: name},
				VaultURL: vault, URL: vault + "/secrets/" + name})
		}
	}
	src := &silentVaults{}
	a, err := New(h.spec, Deps{Source: src, Store: h.store, Clock: quickBudgetClock{}, Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	st := a.SyncOnce(context.Background())
	if src.most != 8 {
		t.Errorf("%d calls waited at once, want the 8 vaults' probes side by side", src.most)
	}
	skipped := 0
	for _, c := range st.Certificates {
		if c.Attempts != 1 {
			t.Errorf("%s: %d attempts, want 1", c.Key, c.Attempts)
		}
		if strings.Contains(c.LastError, "not checked in this pass") {
			skipped++
		}
	}
	if skipped != 16 {
		t.Errorf("%d certificates were not tried, want the 16 behind the probes", skipped)
	}
}
