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
	// kind names the step that failed for metrics: "", kindDecode,
	// kindChain or kindInstall.
	kind string
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
	// rollbacks counts changes that replaced a withdrawn current version.
	rollbacks int
	hookErr   error
	// notice says what the vault withdrew and what akvvm did about it.
	notice string
	// warned names the installed versions whose install logged a WARN
	// because they were outside their validity.
	warned map[string]bool
	// pending are the newer versions held until their release.
	pending pending
}

// syncCert converges one certificate to the vault's truth: it lists the
// versions (metadata only), installs what is missing, makes the newest
// usable version current — backwards too, when the newest was withdrawn —
// removes withdrawn and surplus versions, and notifies. When the newest
// usable version cannot be installed, a withdrawn current version is still
// replaced by the newest usable one installed, and withdrawn versions are
// still removed.
func (a *Agent) syncCert(ctx context.Context, spec Spec, c CertSpec) (result, error) {
	if c.IsSecret() {
		return a.syncSecret(ctx, spec, c) // secret.go
	}
	var res result
	installed, err := a.deps.Store.List(ctx, c.Target, c.Ref)
	var gone []string // recorded versions whose files are missing
	var mfe *store.MissingFilesError
	switch {
	case errors.As(err, &mfe):
		for _, m := range mfe.Missing {
			gone = append(gone, m.Version)
		}
		a.log.Warn("recorded versions are missing from the store (deleted outside akvvm?); the current one is installed again, the others are forgotten",
			"certificate", c.Key(), "versions", strings.Join(gone, ","), "error", err)
	case err != nil:
		return res, &syncError{kind: kindInstall, err: fmt.Errorf("read the installed versions: %w", err)}
	}
	if len(installed) > 0 && installed[0].Current {
		res.current = &installed[0]
	}
	// The network part (identity, listing, downloads, and every retry
	// inside them) gets AttemptBudget; installing and notifying do not
	// run under it, so a check is never cut halfway through a change.
	netCtx, cancel := a.withTimeout(ctx, AttemptBudget)
	defer cancel()
	v, err := a.look(netCtx, spec, c, installed, gone)
	res.pending = v.pending
	if err != nil {
		return res, err
	}
	if len(v.wanted) == 0 {
		return res, nil // a first install waits for the release of a held version
	}
	p := decide(installed, v.wanted, v.withdrawn, spec.Keep, c.Target.LinkOnRenewal)
	p.forget(gone)
	ready, skipped, err := a.prepare(netCtx, spec, c, p.install, v.pre)
	cancel()
	if err != nil {
		if len(v.usable) > 0 {
			fallback := decide(installed, v.usable, v.withdrawn, spec.Keep, c.Target.LinkOnRenewal)
			if aerr := a.apply(ctx, c, &res, fallback, nil); aerr != nil {
				a.log.Warn("could not fall back to an installed version", "certificate", c.Key(), "error", aerr)
			}
		}
		return res, err
	}
	if err := a.apply(ctx, c, &res, p, ready); err != nil {
		return res, err
	}
	for _, sk := range skipped {
		res.notice = joinNotice(res.notice, sk)
	}
	return res, nil
}

// withTimeout returns a context that ends after d of the agent's clock.
func (a *Agent) withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if tc, ok := a.clock.(TimeoutClock); ok {
		return tc.WithTimeout(ctx, d)
	}
	return context.WithTimeout(ctx, d)
}

// apply carries out a plan: it installs the prepared versions (oldest
// first), makes an installed version current, and removes what the plan
// removes. Each change of the current version is an event; the first one
// replaces the version current before, so it carries the rollback flag.
func (a *Agent) apply(ctx context.Context, c CertSpec, res *result, p plan, ready []prepared) error {
	start := res.current
	dropped := ""
	for _, pr := range ready {
		rec, err := a.deps.Store.Install(ctx, c.Target, pr.bundle.ToStore(c.Ref, pr.version))
		if err != nil {
			return &syncError{kind: kindInstall, err: fmt.Errorf("install version %s: %w", pr.version, err)}
		}
		if rec.Unchanged {
			a.alreadyDone(c, res, rec)
			continue
		}
		a.log.Info("installed new version", "certificate", c.Key(), "version", rec.Version,
			"thumbprint", rec.Thumbprint, "notAfter", rec.NotAfter, "location", rec.Location)
		a.warnInvalid(c, res, rec.Version, pr.bundle)
		dropped = joinNotice(dropped, a.warnDropped(c, rec.Version, pr.bundle))
		a.changed(ctx, res, Event{Cert: c, Previous: res.current, Installed: rec, Bundle: pr.bundle, Rollback: p.rollback && res.current == start})
		res.installed++
	}
	if p.current != "" {
		rec, err := a.deps.Store.MakeCurrent(ctx, c.Target, c.Ref, p.current)
		if err != nil {
			return &syncError{kind: kindInstall, err: fmt.Errorf("make installed version %s current again: %w", p.current, err)}
		}
		if rec.Unchanged {
			a.alreadyDone(c, res, rec)
		} else {
			from := ""
			if res.current != nil {
				from = res.current.Version
			}
			a.log.Info("made an installed version current again", "certificate", c.Key(), "version", rec.Version,
				"thumbprint", rec.Thumbprint, "previous", from, "rollback", p.rollback)
			a.changed(ctx, res, Event{Cert: c, Previous: res.current, Installed: rec, Rollback: p.rollback && res.current == start})
			res.switched++
		}
	}
	for _, w := range p.withdrawn {
		if w.Installed {
			a.log.Warn("installed version withdrawn in the vault", "certificate", c.Key(), "version", w.Version, "reason", w.Reason)
		}
	}
	res.notice = withdrawalNotice(p, res.current)
	if dropped != "" {
		res.notice = joinNotice(res.notice, dropped)
	}
	if len(p.remove) > 0 {
		removed, err := a.deps.Store.Delete(ctx, c.Target, c.Ref, p.remove)
		for _, r := range removed {
			a.log.Info("removed version", "certificate", c.Key(), "version", r.Version, "thumbprint", r.Thumbprint)
		}
		if err != nil {
			a.log.Warn("could not remove old or withdrawn versions; trying again at the next check", "certificate", c.Key(), "error", err)
			if left := p.withdrawnLeft(removed); len(left) > 0 {
				res.notice = joinNotice(res.notice, fmt.Sprintf("could not remove withdrawn version(s) %s, trying again at the next check: %v", strings.Join(left, ", "), err))
			}
		}
	}
	return nil
}

// alreadyDone records a version the store found installed and current
// already: another akvvm process on the same store got there first, so
// nothing changed and no event or hook is due.
func (a *Agent) alreadyDone(c CertSpec, res *result, rec store.Installed) {
	a.log.Info("version already installed and current (another akvvm process installed it meanwhile): nothing changed, no event",
		"certificate", c.Key(), "version", rec.Version, "thumbprint", rec.Thumbprint, "location", rec.Location)
	res.current = &rec
}

// prepared is a downloaded, decoded and checked version, ready to install.
type prepared struct {
	version string
	bundle  *certbundle.Bundle
}

// prepare downloads, decodes and checks every version to install before
// any is installed. The last one is the newest wanted version: its failure
// fails the sync. An older one (the second version 4.0 keeps) that fails
// is skipped, and the returned notices say why.
func (a *Agent) prepare(ctx context.Context, spec Spec, c CertSpec, vs []keyvault.Version, pre *keyvault.Secret) ([]prepared, []string, error) {
	var ready []prepared
	var skipped []string
	for i, v := range vs {
		b, err := a.fetch(ctx, spec, c, v, pre)
		switch {
		case err == nil:
			ready = append(ready, prepared{version: v.Version, bundle: b})
		case i == len(vs)-1 || ctx.Err() != nil:
			return nil, nil, err
		default:
			a.log.Warn("older wanted version skipped", "certificate", c.Key(), "version", v.Version, "error", err)
			skipped = append(skipped, fmt.Sprintf("older version %s not installed: %v", v.Version, err))
		}
	}
	return ready, skipped, nil
}

// joinNotice appends part to a notice.
func joinNotice(notice, part string) string {
	if notice == "" {
		return part
	}
	return notice + "; " + part
}

// changed runs the side effects of a new current version and records it.
func (a *Agent) changed(ctx context.Context, res *result, ev Event) {
	rec := ev.Installed
	res.current = &rec
	if ev.Rollback {
		res.rollbacks++
	}
	if err := a.notify(ctx, ev); err != nil {
		res.hookErr = err
	}
}

// withdrawalNotice tells the operator what the vault withdrew, or "".
func withdrawalNotice(p plan, current *store.Installed) string {
	var gone, unused []withdrawal
	for _, w := range p.withdrawn {
		if w.Installed {
			gone = append(gone, w)
		} else {
			unused = append(unused, w)
		}
	}
	msg := ""
	if len(gone) > 0 {
		msg = "withdrawn in the vault: " + describeKept(gone)
	}
	if len(unused) > 0 {
		msg = joinNotice(msg, "newer version not used: "+describeKept(unused))
	}
	if msg == "" {
		return ""
	}
	if current != nil {
		msg += "; version " + current.Version + " is current"
	}
	if len(p.kept) > 0 {
		msg += "; kept for now: " + describeKept(p.kept)
	}
	return msg
}

// view is what the vault says about one certificate, for a plan.
type view struct {
	// wanted are the versions that should be installed, newest first,
	// never empty.
	wanted []keyvault.Version
	// withdrawn are the installed versions the vault withdrew, and a newer
	// listed version that is not usable.
	withdrawn []withdrawal
	// usable are the installed versions that are usable, newest first: the
	// fallback when the wanted ones cannot be installed.
	usable []keyvault.Version
	// pre is the current version's secret, already downloaded.
	pre *keyvault.Secret
	// pending are the newer versions held until their release; wanted is
	// empty when nothing is installed and every usable version is held.
	pending pending
}

// look asks the vault what should be installed. A pinned version is
// wanted as it is, without a listing; a first install of one version asks
// for the vault's current version first (firstInstall).
func (a *Agent) look(ctx context.Context, spec Spec, c CertSpec, installed []store.Installed, gone []string) (view, error) {
	if c.PinnedVersion != "" {
		return view{wanted: []keyvault.Version{{Version: c.PinnedVersion}}}, nil
	}
	pre, err := a.firstInstall(ctx, spec, c, installed, gone)
	if err != nil || pre != nil {
		if pre != nil {
			return view{wanted: []keyvault.Version{pre.Version}, pre: pre}, nil
		}
		return view{}, err
	}
	has := func(version string) bool {
		return slices.ContainsFunc(installed, func(i store.Installed) bool { return i.Version == version })
	}
	versions, cur, err := a.versionsOrCurrent(ctx, spec, c, installed) // getonly.go
	if cur != nil && err == nil {
		return a.currentView(c, installed, cur)
	}
	if err != nil {
		err = classify(err)
		if len(installed) > 0 && isNotFound(err) {
			err = keptError(err, installed, "the secret is gone from the vault")
		}
		return view{}, err
	}
	now := a.clock.Now()
	all, answer, err := a.newest(ctx, c, versions, now)
	if err != nil {
		return view{}, err
	}
	all, held := holdBack(all, versions, installed, c.ActivationDelay, now)
	if len(all) == 0 && len(held) > 0 && len(installed) == 0 {
		return view{pending: held}, nil
	}
	if len(all) == 0 {
		err := &syncError{kind: kindNoUsable, permanent: true, err: fmt.Errorf(
			"secret %s has no enabled, currently valid version (%d listed): enable a version or check its activation and expiry dates", c.Name, len(versions))}
		if len(installed) > 0 {
			return view{pending: held}, keptError(err, installed, "nothing usable remains")
		}
		return view{}, err
	}
	v := view{wanted: all[:min(max(spec.Versions, 1), len(all))], withdrawn: held.notWithdrawn(withdrawals(installed, versions, all[0], now)), pending: held, pre: answer}
	for _, u := range all {
		if has(u.Version) {
			v.usable = append(v.usable, u)
		}
	}
	return v, nil
}

// firstInstall fetches the vault's current version when nothing is
// installed and one version is wanted: when it is usable it is the newest
// usable version, so the first install costs one request instead of a
// listing and a download. It returns nil and no error when the listing
// must decide: the current version is not usable, or the vault refused it
// (403), as it refuses a disabled version; any other failure is the
// sync's error.
func (a *Agent) firstInstall(ctx context.Context, spec Spec, c CertSpec, installed []store.Installed, gone []string) (*keyvault.Secret, error) {
	if len(installed) > 0 || len(gone) > 0 || spec.Versions > 1 {
		return nil, nil
	}
	secret, err := a.deps.Source.Get(ctx, c.VaultURL, c.Name, "")
	if err != nil {
		if isForbidden(err) {
			return nil, nil
		}
		return nil, classify(err)
	}
	if now := a.clock.Now(); secret.Version.Version == "" || !secret.Version.Usable(now) || !released(secret.Version, c.ActivationDelay, now) {
		return nil, nil
	}
	return secret, nil
}

// keptError adds to err that the installed versions stay in place.
func keptError(err error, installed []store.Installed, why string) error {
	versions := make([]string, len(installed))
	for i, in := range installed {
		versions[i] = in.Version
	}
	var se *syncError
	permanent, kind := false, ""
	if errors.As(err, &se) {
		permanent, kind = se.permanent, se.kind
	}
	return &syncError{kind: kind, permanent: permanent, err: fmt.Errorf("%w; %s, so the installed version(s) %s are kept until a usable version appears",
		err, why, strings.Join(versions, ", "))}
}

// isNotFound reports a 404 from Key Vault.
func isNotFound(err error) bool {
	var kv *keyvault.Error
	return errors.As(err, &kv) && kv.StatusCode() == http.StatusNotFound
}

// isForbidden reports a 403 from Key Vault.
func isForbidden(err error) bool {
	var kv *keyvault.Error
	return errors.As(err, &kv) && kv.StatusCode() == http.StatusForbidden
}

// newest returns the usable versions at now, newest first. Key Vault
// stamps versions in whole seconds, so when several share the newest
// second and no listed version is newer, the vault is asked once which
// one is current (that question downloads its value) and the answer is
// remembered for that set of versions (ties.go); the current one goes
// first, and the answer's download is returned for its install. A refused
// answer (403: the vault's current version is disabled) keeps the sorted
// order.
func (a *Agent) newest(ctx context.Context, c CertSpec, versions []keyvault.Version, now time.Time) ([]keyvault.Version, *keyvault.Secret, error) {
	all := keyvault.Newest(versions, now, len(versions))
	tied := all[:countSameSecond(all)]
	if len(tied) < 2 || slices.ContainsFunc(versions, func(v keyvault.Version) bool { return v.Created.After(tied[0].Created) }) {
		a.forgetTie(c.Key())
		return all, nil, nil
	}
	set := make([]string, len(tied))
	for i, v := range tied {
		set[i] = v.Version
	}
	slices.Sort(set)
	key := strings.Join(set, ",")
	first, ok := a.tieAnswer(c.Key(), key)
	var answer *keyvault.Secret
	if !ok {
		latest, err := a.deps.Source.Get(ctx, c.VaultURL, c.Name, "")
		switch {
		case err == nil:
			first, answer = latest.Version.Version, latest
		case !isForbidden(err):
			return nil, nil, classify(fmt.Errorf("%d versions share the newest creation second, and asking the vault which is current failed: %w", len(tied), err))
		}
		a.rememberTie(c.Key(), key, first)
	}
	if i := slices.IndexFunc(tied, func(v keyvault.Version) bool { return v.Version == first }); i > 0 {
		v := all[i]
		all = slices.Insert(slices.Delete(all, i, i+1), 0, v)
	}
	return all, answer, nil
}

// tieAnswer returns the remembered current version of a set of versions
// sharing one creation second.
func (a *Agent) tieAnswer(cert, set string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.ties[cert]
	return t.answer, ok && t.set == set
}

// rememberTie keeps the vault's answer for a tied set, one per certificate.
func (a *Agent) rememberTie(cert, set, answer string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ties == nil {
		a.ties = map[string]tie{}
	}
	a.ties[cert] = tie{set: set, answer: answer}
}

// tie is the vault's answer for versions sharing one creation second.
type tie struct{ set, answer string }

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

// fetch downloads, decodes and checks one version. A secret already
// fetched for v (pre) is not downloaded again.
func (a *Agent) fetch(ctx context.Context, spec Spec, c CertSpec, v keyvault.Version, pre *keyvault.Secret) (*certbundle.Bundle, error) {
	secret := pre
	if secret == nil || secret.Version.Version != v.Version {
		var err error
		if secret, err = a.deps.Source.Get(ctx, c.VaultURL, c.Name, v.Version); err != nil {
			return nil, classify(disabledContext(err, c))
		}
	}
	bundle, err := certbundle.Decode(secret.Value(), secret.ContentType)
	if err != nil {
		return nil, &syncError{kind: kindDecode, permanent: true, err: fmt.Errorf("version %s is not a usable certificate: %w", secret.Version.Version, err)}
	}
	if spec.VerifyChain && bundle.HasServerAuthEKU() {
		opts := a.deps.Verify
		if opts.Now.IsZero() {
			opts.Now = a.clock.Now()
		}
		if err := bundle.VerifyChain(opts); err != nil {
			return nil, &syncError{kind: kindChain, permanent: true, fatal: true, err: fmt.Errorf("version %s failed the chain check required for server-authentication certificates: %w", secret.Version.Version, err)}
		}
	}
	return bundle, nil
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

// disabledContext adds to a refusal of a disabled version what akvvm does
// about it: a pinned version stays wanted until it is enabled or the pin
// changes; otherwise the next check lists the versions again and goes on
// with the newest usable one.
func disabledContext(err error, c CertSpec) error {
	var kv *keyvault.Error
	if !errors.As(err, &kv) || !kv.Disabled() {
		return err
	}
	if c.PinnedVersion != "" {
		return fmt.Errorf("%w, or pin another version in observedCertificates (this one is pinned)", err)
	}
	return fmt.Errorf("%w; until then akvvm goes on with the newest usable version at the next check", err)
}

// classify marks Key Vault errors that retrying cannot fix.
func classify(err error) error {
	var kv *keyvault.Error
	if errors.As(err, &kv) {
		return &syncError{err: err, permanent: kv.Permanent()}
	}
	return &syncError{err: err}
}
