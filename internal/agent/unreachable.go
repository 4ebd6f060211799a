package agent

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/akvvm/akvvm/internal/keyvault"
)

// unreachable remembers, for one pass, the vaults whose last check failed
// without a usable answer: no connection, no answer within the budget, the
// identity failing, throttling or a server error. The certificates of such
// a vault still waiting in the pass are not checked; they fail at once
// with that cause. A vault that does not answer then costs one budget per
// pass, not one per certificate divided by the concurrency, which keeps the
// initial sync within InitialSyncBound however many certificates it has.
type unreachable struct {
	mu     sync.Mutex
	vaults map[string]vaultFailure
	// failed holds the certificates (by key) whose check failed with their
	// vault as a whole in this pass, skipped ones included.
	failed map[string]bool
}

// vaultFailure is the failed check that marked a vault, and when it started.
type vaultFailure struct {
	err   *keyvault.Error
	start time.Time
}

func newUnreachable() *unreachable {
	return &unreachable{vaults: map[string]vaultFailure{}, failed: map[string]bool{}}
}

// vaultKey normalises a vault URL.
func vaultKey(u string) string { return strings.ToLower(strings.TrimSuffix(u, "/")) }

// note records the outcome of a check of c that started at start: a
// failure of the vault as a whole marks it, anything that reached the
// vault clears it.
func (u *unreachable) note(c CertSpec, start time.Time, err error) {
	var kv *keyvault.Error
	down := err != nil && errors.As(err, &kv) && vaultWide(kv)
	u.mu.Lock()
	defer u.mu.Unlock()
	switch {
	case down:
		u.vaults[vaultKey(c.VaultURL)] = vaultFailure{err: kv, start: start}
		u.failed[c.Key()] = true
	case err == nil:
		delete(u.vaults, vaultKey(c.VaultURL))
	}
}

// skip returns an error for c when its vault failed as a whole earlier in
// this pass, else nil, with the start of the check that failed: the skipped
// attempt counts from it, so the next attempts of every certificate of the
// vault fall due together and share a pass again, instead of each group
// waiting for the other's slow pass.
func (u *unreachable) skip(c CertSpec) (time.Time, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	f, ok := u.vaults[vaultKey(c.VaultURL)]
	if !ok {
		return time.Time{}, nil
	}
	u.failed[c.Key()] = true
	return f.start, &syncError{err: fmt.Errorf("not checked in this pass: another certificate's check at the same vault just failed: %w", f.err)}
}

// vaultWide reports a failure that says nothing about one secret: no HTTP
// answer at all (connection, time budget, identity), throttling or a
// server error.
func vaultWide(kv *keyvault.Error) bool {
	s := kv.StatusCode()
	return s == 0 || s == http.StatusTooManyRequests || s >= 500
}

// alignRetries gives the certificates whose check failed with their vault
// as a whole in this pass one next check, the earliest of theirs (never
// before a Retry-After), separately for installed ones and ones still in
// the initial sync. Their next attempts then share one pass, which a
// vault that does not answer keeps to one budget; apart, each group's
// attempt would wait for the other's slow pass and the initial sync would
// outlive InitialSyncBound.
func (a *Agent) alignRetries(u *unreachable) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.failed) < 2 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var first [2]time.Time // by whether the certificate is installed
	class := func(st *CertStatus) int {
		if st.Installed() {
			return 1
		}
		return 0
	}
	for k := range u.failed {
		st := a.certs[k]
		if st == nil || st.Fatal || st.Attempts == 0 {
			continue
		}
		if i := class(st); first[i].IsZero() || st.NextCheck.Before(first[i]) {
			first[i] = st.NextCheck
		}
	}
	for k := range u.failed {
		st := a.certs[k]
		if st == nil || st.Fatal || st.Attempts == 0 {
			continue
		}
		st.NextCheck = later(first[class(st)], st.retryNotBefore)
	}
}
