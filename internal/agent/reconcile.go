package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"

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
	hookErr   error
}

// syncCert brings one certificate up to date: it lists versions (metadata
// only), downloads and installs what is missing, prunes, and notifies.
func (a *Agent) syncCert(ctx context.Context, spec Spec, c CertSpec) (result, error) {
	var res result
	installed, err := a.deps.Store.List(ctx, c.Target, c.Ref)
	switch {
	case errors.Is(err, store.ErrMissingFiles):
		a.log.Warn("installed files are missing; the newest version will be installed again", "certificate", c.Key(), "error", err)
	case err != nil:
		return res, &syncError{err: fmt.Errorf("read the installed versions: %w", err)}
	}
	if len(installed) > 0 {
		res.current = &installed[0]
	}
	want, err := a.wanted(ctx, spec, c, installed)
	if err != nil {
		return res, err
	}
	for _, v := range want {
		rec, bundle, err := a.install(ctx, spec, c, v)
		if err != nil {
			return res, err
		}
		ev := Event{Cert: c, Previous: res.current, Installed: rec, Bundle: bundle}
		res.current = &rec
		res.installed++
		if err := a.notify(ctx, ev); err != nil {
			res.hookErr = err
		}
	}
	if res.installed > 0 && spec.Keep > 0 {
		removed, err := a.prune(ctx, c, spec.Keep)
		if err != nil {
			a.log.Warn("could not remove old versions", "certificate", c.Key(), "error", err)
		}
		for _, r := range removed {
			a.log.Info("removed old version", "certificate", c.Key(), "version", r.Version, "thumbprint", r.Thumbprint)
		}
	}
	return res, nil
}

// wanted returns the versions to install, oldest first. It is empty when
// the newest wanted version is already installed.
func (a *Agent) wanted(ctx context.Context, spec Spec, c CertSpec, installed []store.Installed) ([]keyvault.Version, error) {
	has := func(version string) bool {
		return slices.ContainsFunc(installed, func(i store.Installed) bool { return i.Version == version })
	}
	if c.PinnedVersion != "" {
		if has(c.PinnedVersion) {
			return nil, nil
		}
		return []keyvault.Version{{Version: c.PinnedVersion}}, nil
	}
	versions, err := a.deps.Source.Versions(ctx, c.VaultURL, c.Name)
	if err != nil {
		return nil, classify(err)
	}
	n := max(spec.Versions, 1)
	newest, err := a.newest(ctx, c, versions, n, has)
	if err != nil {
		return nil, err
	}
	if len(newest) == 0 {
		return nil, &syncError{permanent: true, err: fmt.Errorf(
			"secret %s has no enabled, currently valid version (%d listed): enable a version or check its activation and expiry dates", c.Name, len(versions))}
	}
	if has(newest[0].Version) {
		return nil, nil
	}
	var out []keyvault.Version
	for _, v := range slices.Backward(newest) {
		if !has(v.Version) {
			out = append(out, v)
		}
	}
	return out, nil
}

// newest returns the n newest usable versions. Key Vault stamps versions
// in whole seconds, so when several share the newest second the vault is
// asked which one is current; that one goes first. The question downloads
// the current value, so it is asked only when one of those versions is not
// installed yet.
func (a *Agent) newest(ctx context.Context, c CertSpec, versions []keyvault.Version, n int, has func(string) bool) ([]keyvault.Version, error) {
	all := keyvault.Newest(versions, a.clock.Now(), len(versions))
	tied := all[:countSameSecond(all)]
	if len(tied) > 1 && slices.ContainsFunc(tied, func(v keyvault.Version) bool { return !has(v.Version) }) {
		latest, err := a.deps.Source.Get(ctx, c.VaultURL, c.Name, "")
		if err != nil {
			return nil, classify(fmt.Errorf("%d versions share the newest creation second, and asking the vault which is current failed: %w", len(tied), err))
		}
		if i := slices.IndexFunc(all, func(v keyvault.Version) bool { return v.Version == latest.Version.Version }); i > 0 {
			current := all[i]
			all = slices.Insert(slices.Delete(all, i, i+1), 0, current)
		}
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
func (a *Agent) install(ctx context.Context, spec Spec, c CertSpec, v keyvault.Version) (store.Installed, *certbundle.Bundle, error) {
	secret, err := a.deps.Source.Get(ctx, c.VaultURL, c.Name, v.Version)
	if err != nil {
		return store.Installed{}, nil, classify(err)
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

// prune removes all but the keep newest installed versions.
func (a *Agent) prune(ctx context.Context, c CertSpec, keep int) ([]store.Installed, error) {
	installed, err := a.deps.Store.List(ctx, c.Target, c.Ref)
	if err != nil && !errors.Is(err, store.ErrMissingFiles) {
		return nil, err
	}
	if len(installed) <= keep {
		return nil, nil
	}
	var old []string
	for _, in := range installed[keep:] {
		old = append(old, in.Version)
	}
	return a.deps.Store.Delete(ctx, c.Target, c.Ref, old)
}
