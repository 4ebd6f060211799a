package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/store"
)

// Get-only grants: an identity granted Get but not List on a vault (as
// Azure Arc's documentation grants the machine) cannot list a secret's
// versions. When a version listing is refused (403) and a GET of the
// secret's current version works, the secret is read that way from then
// on: each poll downloads the current value and installs it when its
// version moved. Listing is tried again every GetOnlyRetry, on a reload of
// the settings (SIGHUP) and on a sync asked for now; a secret whose
// listing is granted again is listed from then on. The mode is per secret,
// since a grant may be scoped to one secret (Azure RBAC).
//
// Only the vault's current version is known, so only it is wanted: older
// versions are not downloaded (a 4.0 certificate's second version is the
// one it had installed before, kept within the keep bound), and a
// withdrawn older version is not seen.

// GetOnlyNotice is what status says of a certificate read by GET alone.
const GetOnlyNotice = "list not granted: each poll downloads the current value"

// GetOnlyRetry is how long a secret is read by GET alone before listing
// its versions is tried again.
const GetOnlyRetry = 24 * time.Hour

// getOnly remembers the secrets whose version listing was refused while
// GET of the current version worked.
type getOnly struct {
	mu sync.Mutex
	// retryAt is, per secret, when listing is tried again.
	retryAt map[secretID]time.Time
	// warned are the vaults (vaultKey) whose first get-only secret was
	// logged at WARN: the log says it once per vault, not per secret.
	warned map[string]bool
}

// firstOfVault reports whether vaultURL has not been warned about, and
// notes that it now has.
func (g *getOnly) firstOfVault(vaultURL string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	k := vaultKey(vaultURL)
	if g.warned[k] {
		return false
	}
	if g.warned == nil {
		g.warned = map[string]bool{}
	}
	g.warned[k] = true
	return true
}

// active reports whether k is read by GET alone at now (no listing due).
func (g *getOnly) active(k secretID, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	at, ok := g.retryAt[k]
	return ok && now.Before(at)
}

// known reports whether k is in the get-only mode, listing due or not.
func (g *getOnly) known(k secretID) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.retryAt[k]
	return ok
}

// refused records that k's listing was refused at now; it reports whether
// k was not in the get-only mode before.
func (g *getOnly) refused(k secretID, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.retryAt == nil {
		g.retryAt = map[secretID]time.Time{}
	}
	_, was := g.retryAt[k]
	g.retryAt[k] = now.Add(GetOnlyRetry)
	return !was
}

// granted records that k's listing worked; it reports whether k was in
// the get-only mode.
func (g *getOnly) granted(k secretID) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, was := g.retryAt[k]
	delete(g.retryAt, k)
	return was
}

// retryAll makes every get-only secret try listing at its next check.
func (g *getOnly) retryAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k := range g.retryAt {
		g.retryAt[k] = time.Time{}
	}
}

// prune forgets the secrets spec no longer observes.
func (g *getOnly) prune(spec Spec) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.retryAt) == 0 {
		return
	}
	keep := make(map[secretID]bool, len(spec.Certificates))
	for _, c := range spec.Certificates {
		keep[secretKey(c.VaultURL, c.Name)] = true
	}
	for k := range g.retryAt {
		if !keep[k] {
			delete(g.retryAt, k)
		}
	}
	if len(g.retryAt) == 0 {
		g.warned = nil
	}
}

// versionsOrCurrent lists c's versions, or, for a secret whose listing is
// not granted, gets its current version instead (cur, versions nil). A
// refused listing is answered by a GET of the current version: when that
// works, or is refused only because the current version is disabled, the
// secret enters the get-only mode; otherwise the listing's error stands.
func (a *Agent) versionsOrCurrent(ctx context.Context, spec Spec, c CertSpec, installed []store.Installed) ([]keyvault.Version, *keyvault.Secret, error) {
	k := secretKey(c.VaultURL, c.Name)
	if a.getOnly.active(k, a.clock.Now()) {
		cur, err := a.deps.Source.Get(ctx, c.VaultURL, c.Name, "")
		if isForbidden(err) && !isDisabled(err) {
			a.getOnly.granted(k) // Get refused now: the next check lists again
		}
		return nil, cur, getOnlyError(err)
	}
	vs, err := a.listVersions(ctx, spec, c, installed) // detect.go
	if err == nil {
		if a.getOnly.granted(k) {
			a.log.Info("listing the secret's versions is granted again; it is listed from now on", "certificate", c.Key())
		}
		return vs, nil, nil
	}
	if !isForbidden(err) {
		return nil, nil, err
	}
	cur, gerr := a.deps.Source.Get(ctx, c.VaultURL, c.Name, "")
	if gerr != nil && !isDisabled(gerr) {
		if a.getOnly.granted(k) {
			a.log.Info("neither listing nor getting the secret is granted any more", "certificate", c.Key())
		}
		return nil, nil, err // no Get either: the listing's refusal is the cause
	}
	if a.getOnly.refused(k, a.clock.Now()) && a.getOnly.firstOfVault(c.VaultURL) {
		a.log.Warn("listing the secret's versions is refused (403) but getting its current version is allowed: "+GetOnlyNotice+"; grant List to poll by listing (metadata only); listing is tried again in 24 h, on SIGHUP and on sync --now (logged once per vault; each certificate's status says it)",
			"vault", c.VaultURL, "certificate", c.Key(), "error", err)
	} else {
		a.log.Debug("listing still refused; reading the current version", "certificate", c.Key())
	}
	return nil, cur, getOnlyError(gerr)
}

// isDisabled reports Key Vault's refusal of a disabled version.
func isDisabled(err error) bool {
	var kv *keyvault.Error
	return errors.As(err, &kv) && kv.Disabled()
}

// getOnlyError says of a refused disabled current version what akvvm
// cannot do without List.
func getOnlyError(err error) error {
	if err == nil || !isDisabled(err) {
		return err
	}
	return fmt.Errorf("%w; listing is not granted, so akvvm cannot look for an older usable version: enable it, make a usable version current, or grant List", err)
}

// currentView is what the vault says about c when only its current
// version is known: that version is wanted when it is usable and
// released; otherwise what is installed stays, and the error says why.
func (a *Agent) currentView(c CertSpec, installed []store.Installed, cur *keyvault.Secret) (view, error) {
	now := a.clock.Now()
	listed := []keyvault.Version{cur.Version}
	var usable []keyvault.Version
	if cur.Usable(now) {
		usable = listed
	}
	eligible, held := holdBack(usable, listed, installed, c.ActivationDelay, now)
	switch {
	case len(eligible) > 0:
		return view{wanted: eligible, pre: cur, pending: held}, nil
	case len(held) > 0 && len(installed) == 0:
		return view{pending: held}, nil
	case len(held) > 0:
		return view{wanted: []keyvault.Version{installedVersion(installed[0])}, pending: held}, nil
	}
	err := &syncError{kind: kindNoUsable, permanent: true, err: fmt.Errorf(
		"the current version %s of secret %s is %s, and listing is not granted, so akvvm cannot look for an older usable version: make a usable version current, or grant List",
		cur.Version.Version, c.Name, cur.Unusable(now))}
	if len(installed) > 0 {
		return view{}, keptError(err, installed, "nothing usable is known")
	}
	return view{}, err
}

// installedVersion stands for an installed version in a plan.
func installedVersion(in store.Installed) keyvault.Version {
	return keyvault.Version{Version: in.Version, Enabled: true}
}

// getOnlyNotice adds the get-only notice to notice when c's secret is
// read by GET alone, and removes it when it is listed.
func (a *Agent) getOnlyNotice(c CertSpec, notice string) string {
	parts := strings.Split(notice, "; ")
	kept := parts[:0]
	for _, p := range parts {
		if p != GetOnlyNotice && p != "" {
			kept = append(kept, p)
		}
	}
	notice = strings.Join(kept, "; ")
	if c.PinnedVersion == "" && a.getOnly.known(secretKey(c.VaultURL, c.Name)) {
		if notice == "" {
			return GetOnlyNotice
		}
		return GetOnlyNotice + "; " + notice
	}
	return notice
}
