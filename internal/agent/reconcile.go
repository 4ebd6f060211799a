package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/akvvm/akvvm/internal/certbundle"
	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/store"
)

// syncError is a failed sync with how to schedule the next attempt.
type syncError struct {
	err error
	// permanent errors need a configuration change (403, 404, bad content).
	permanent bool
	// fatal errors end the initial sync at once (4.0 chain check).
	fatal bool
}

func (e *syncError) Error() string { return e.err.Error() }
func (e *syncError) Unwrap() error { return e.err }

// result is the outcome of one sync of one certificate.
type result struct {
	current   *store.Installed
	installed int
	// switched counts installed versions made current again.
	switched int
	hookErr  error
	// notice says what the vault withdrew and what akvvm did about it.
	notice string
}

// syncCert converges one certificate to the vault's truth: it lists the
// versions (metadata only), installs what is missing, makes the newest
// usable version current — backwards too, when the newest was withdrawn —
// removes withdrawn and surplus versions, and notifies.
func (a *Agent) syncCert(ctx context.Context, spec Spec, c CertSpec) (result, error) {
	var res result
	installed, err := a.deps.Store.List(ctx, c.Target, c.Ref)
	var gone []string // recorded versions whose files are missing
	var mfe filesMissing
	switch {
	case errors.As(err, &mfe):
		gone = mfe.MissingVersions()
		a.log.Warn("recorded versions are missing from the store (deleted outside akvvm?); a wanted one is installed again, the others are forgotten",
			"certificate", c.Key(), "versions", strings.Join(gone, ","), "error", err)
	case errors.Is(err, store.ErrMissingFiles):
		a.log.Warn("recorded versions are missing from the store (deleted outside akvvm?)", "certificate", c.Key(), "error", err)
	case err != nil:
		return res, &syncError{err: fmt.Errorf("read the installed versions: %w", err)}
	}
	if len(installed) > 0 && installed[0].Current {
		res.current = &installed[0]
	}
	var wanted []keyvault.Version
	var withdrawn []withdrawal
	pre := a.firstInstall(ctx, spec, c, installed, gone)
	if pre != nil {
		wanted = []keyvault.Version{pre.Version}
	} else if wanted, withdrawn, err = a.wanted(ctx, spec, c, installed); err != nil {
		return res, err
	}
	p := decide(installed, wanted, withdrawn, spec.Keep, c.Target.LinkOnRenewal)
	p.forget(gone)
	for i, v := range p.install {
		rec, bundle, err := a.install(ctx, spec, c, v, pre)
		if err != nil {
			return res, err
		}
		last := i == len(p.install)-1
		a.changed(ctx, &res, Event{Cert: c, Previous: res.current, Installed: rec, Bundle: bundle, Rollback: last && p.rollback})
		res.installed++
	}
	if p.current != "" {
		rec, err := a.deps.Store.MakeCurrent(ctx, c.Target, c.Ref, p.current)
		if err != nil {
			return res, &syncError{err: fmt.Errorf("make installed version %s current again: %w", p.current, err)}
		}
		from := ""
		if res.current != nil {
			from = res.current.Version
		}
		a.log.Info("made an installed version current again", "certificate", c.Key(), "version", rec.Version,
			"thumbprint", rec.Thumbprint, "previous", from, "rollback", p.rollback)
		a.changed(ctx, &res, Event{Cert: c, Previous: res.current, Installed: rec, Rollback: p.rollback})
		res.switched++
	}
	for _, w := range p.withdrawn {
		a.log.Warn("installed version withdrawn in the vault", "certificate", c.Key(), "version", w.Version, "reason", w.Reason)
	}
	res.notice = withdrawalNotice(p, res.current)
	if len(p.remove) > 0 {
		removed, err := a.deps.Store.Delete(ctx, c.Target, c.Ref, p.remove)
		for _, r := range removed {
			a.log.Info("removed version", "certificate", c.Key(), "version", r.Version, "thumbprint", r.Thumbprint)
		}
		if err != nil {
			a.log.Warn("could not remove old or withdrawn versions; trying again at the next check", "certificate", c.Key(), "error", err)
			if left := p.withdrawnLeft(removed); len(left) > 0 {
				res.notice += fmt.Sprintf("; could not remove withdrawn version(s) %s, trying again at the next check: %v", strings.Join(left, ", "), err)
			}
		}
	}
	return res, nil
}

// filesMissing is a List error naming the recorded versions whose files
// are gone (filestore.MissingFilesError).
type filesMissing interface {
	error
	MissingVersions() []string
}

// changed runs the side effects of a new current version and records it.
func (a *Agent) changed(ctx context.Context, res *result, ev Event) {
	rec := ev.Installed
	res.current = &rec
	if err := a.notify(ctx, ev); err != nil {
		res.hookErr = err
	}
}

// withdrawalNotice tells the operator what the vault withdrew, or "".
func withdrawalNotice(p plan, current *store.Installed) string {
	if len(p.withdrawn) == 0 {
		return ""
	}
	msg := "withdrawn in the vault: " + describeKept(p.withdrawn)
	if current != nil {
		msg += "; version " + current.Version + " is current"
	}
	if len(p.kept) > 0 {
		msg += "; kept for now: " + describeKept(p.kept)
	}
	return msg
}

// firstInstall fetches the vault's current version when nothing is
// installed and one version is wanted: when it is usable it is the newest
// usable version, so the first install costs one request instead of a
// listing and a download. It returns nil when the listing must decide
// (the current version is not usable, or the request failed: the listing
// then reports the cause).
func (a *Agent) firstInstall(ctx context.Context, spec Spec, c CertSpec, installed []store.Installed, gone []string) *keyvault.Secret {
	if c.PinnedVersion != "" || len(installed) > 0 || len(gone) > 0 || spec.Versions > 1 {
		return nil
	}
	secret, err := a.deps.Source.Get(ctx, c.VaultURL, c.Name, "")
	if err != nil {
		if ctx.Err() == nil {
			a.log.Debug("fetching the current version failed; listing the versions instead", "certificate", c.Key(), "error", err)
		}
		return nil
	}
	if secret.Version.Version == "" || !secret.Version.Usable(a.clock.Now()) {
		return nil
	}
	return secret
}

// wanted returns the versions that should be installed, newest first and
// never empty, and the installed versions the vault withdrew. A pinned
// version is wanted as it is, without a listing.
func (a *Agent) wanted(ctx context.Context, spec Spec, c CertSpec, installed []store.Installed) ([]keyvault.Version, []withdrawal, error) {
	if c.PinnedVersion != "" {
		return []keyvault.Version{{Version: c.PinnedVersion}}, nil, nil
	}
	has := func(version string) bool {
		return slices.ContainsFunc(installed, func(i store.Installed) bool { return i.Version == version })
	}
	versions, err := a.deps.Source.Versions(ctx, c.VaultURL, c.Name)
	if err != nil {
		err = classify(err)
		if len(installed) > 0 && isNotFound(err) {
			err = keptError(err, installed, "the secret is gone from the vault")
		}
		return nil, nil, err
	}
	now := a.clock.Now()
	current := ""
	if len(installed) > 0 && installed[0].Current {
		current = installed[0].Version
	}
	newest, err := a.newest(ctx, c, versions, max(spec.Versions, 1), has, current, now)
	if err != nil {
		return nil, nil, err
	}
	if len(newest) == 0 {
		err := &syncError{permanent: true, err: fmt.Errorf(
			"secret %s has no enabled, currently valid version (%d listed): enable a version or check its activation and expiry dates", c.Name, len(versions))}
		if len(installed) > 0 {
			return nil, nil, keptError(err, installed, "nothing usable remains")
		}
		return nil, nil, err
	}
	return newest, withdrawals(installed, versions, newest[0], now), nil
}

// keptError adds to err that the installed versions stay in place.
func keptError(err error, installed []store.Installed, why string) error {
	versions := make([]string, len(installed))
	for i, in := range installed {
		versions[i] = in.Version
	}
	var se *syncError
	permanent := errors.As(err, &se) && se.permanent
	return &syncError{permanent: permanent, err: fmt.Errorf("%w; %s, so the installed version(s) %s are kept until a usable version appears",
		err, why, strings.Join(versions, ", "))}
}

// isNotFound reports a 404 from Key Vault.
func isNotFound(err error) bool {
	var kv *keyvault.Error
	return errors.As(err, &kv) && kv.StatusCode() == http.StatusNotFound
}

// newest returns the n newest usable versions at now. Key Vault stamps
// versions in whole seconds, so when several share the newest second the
// vault is asked which one is current; that one goes first. The question
// downloads the current value, so it is asked only when one of those
// versions is not installed yet; when all are, the answer is the one
// installed as current, so a tie never flips the current version.
func (a *Agent) newest(ctx context.Context, c CertSpec, versions []keyvault.Version, n int, has func(string) bool, current string, now time.Time) ([]keyvault.Version, error) {
	all := keyvault.Newest(versions, now, len(versions))
	tied := all[:countSameSecond(all)]
	first := ""
	switch {
	case len(tied) < 2:
	case slices.ContainsFunc(tied, func(v keyvault.Version) bool { return !has(v.Version) }):
		latest, err := a.deps.Source.Get(ctx, c.VaultURL, c.Name, "")
		if err != nil {
			return nil, classify(fmt.Errorf("%d versions share the newest creation second, and asking the vault which is current failed: %w", len(tied), err))
		}
		first = latest.Version.Version
	default:
		first = current
	}
	if i := slices.IndexFunc(tied, func(v keyvault.Version) bool { return v.Version == first }); i > 0 {
		v := all[i]
		all = slices.Insert(slices.Delete(all, i, i+1), 0, v)
	}
	return all[:min(n, len(all))], nil
}

// countSameSecond counts the versions created in the same second as the first.
func countSameSecond(vs []keyvault.Version) int {
	n := 0
	for _, v := range vs {
		if v.Created.Equal(vs[0].Created) {
			n++
		}
	}
	return n
}

// install downloads, decodes, checks and installs one version.
// A secret already fetched for v (pre) is not downloaded again.
func (a *Agent) install(ctx context.Context, spec Spec, c CertSpec, v keyvault.Version, pre *keyvault.Secret) (store.Installed, *certbundle.Bundle, error) {
	secret := pre
	if secret == nil || secret.Version.Version != v.Version {
		var err error
		if secret, err = a.deps.Source.Get(ctx, c.VaultURL, c.Name, v.Version); err != nil {
			return store.Installed{}, nil, classify(err)
		}
	}
	bundle, err := certbundle.Decode(secret.Value(), secret.ContentType)
	if err != nil {
		return store.Installed{}, nil, &syncError{permanent: true, err: fmt.Errorf("version %s is not a usable certificate: %w", secret.Version.Version, err)}
	}
	if spec.VerifyChain && bundle.HasServerAuthEKU() {
		opts := a.deps.Verify
		if opts.Now.IsZero() {
			opts.Now = a.clock.Now()
		}
		if err := bundle.VerifyChain(opts); err != nil {
			return store.Installed{}, nil, &syncError{permanent: true, fatal: true, err: fmt.Errorf("version %s failed the chain check required for server-authentication certificates: %w", secret.Version.Version, err)}
		}
	}
	rec, err := a.deps.Store.Install(ctx, c.Target, bundle.ToStore(c.Ref, secret.Version.Version))
	if err != nil {
		return store.Installed{}, nil, &syncError{err: fmt.Errorf("install version %s: %w", secret.Version.Version, err)}
	}
	a.log.Info("installed new version", "certificate", c.Key(), "version", rec.Version,
		"thumbprint", rec.Thumbprint, "notAfter", rec.NotAfter, "location", rec.Location)
	return rec, bundle, nil
}

func (a *Agent) notify(ctx context.Context, e Event) error {
	var errs []error
	if e.Cert.Reload != nil {
		if err := runHook(ctx, *e.Cert.Reload, e); err != nil {
			a.log.Warn("reload command failed; the new version stays installed", "certificate", e.Cert.Key(), "error", err)
			errs = append(errs, err)
		}
	}
	for _, n := range a.deps.Notifiers {
		if err := n.Notify(ctx, e); err != nil {
			a.log.Warn("renewal notification failed; the new version stays installed", "certificate", e.Cert.Key(), "error", err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// classify marks Key Vault errors that retrying cannot fix.
func classify(err error) error {
	var kv *keyvault.Error
	if errors.As(err, &kv) {
		return &syncError{err: err, permanent: kv.Permanent()}
	}
	return &syncError{err: err}
}
