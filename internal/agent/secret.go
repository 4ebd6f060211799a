package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/secretfile"
	"github.com/akvvm/akvvm/internal/store"
)

// KindSecret marks a plain secret's entry in the status (observedSecrets);
// certificates have no kind.
const KindSecret = "secret"

// SecretFiles writes plain secrets to their files and says what is
// written; secretfile.Files implements it. It never logs or returns a
// value.
type SecretFiles interface {
	// Current returns the record of t, whether akvvm wrote t, and why the
	// file must be written again ("" while it is as written and wanted).
	Current(t secretfile.Target) (rec secretfile.Record, ok bool, stale string, err error)
	// Write writes value to t atomically and records version.
	Write(t secretfile.Target, version string, value []byte, notAfter time.Time) (secretfile.Record, error)
}

// IsSecret reports whether c is a plain secret written to a file.
func (c CertSpec) IsSecret() bool { return c.Secret != nil }

// kind is the status kind of c.
func (c CertSpec) kind() string {
	if c.IsSecret() {
		return KindSecret
	}
	return ""
}

// IsSecret reports whether the entry is a plain secret.
func (c CertStatus) IsSecret() bool { return c.Kind == KindSecret }

// syncSecret keeps c's file at the newest usable version of its secret,
// with the same listing, change detection and budget as a certificate: an
// unchanged poll lists (or reuses the vault listing) and writes nothing; a
// new version, a withdrawn current one, or a file that was removed,
// changed, or has another mode or owner than the settings ask is written
// again from the vault (one GET), atomically, and the reload command runs.
// Nothing usable left keeps the file as it is.
func (a *Agent) syncSecret(ctx context.Context, spec Spec, c CertSpec) (result, error) {
	var res result
	if a.deps.Secrets == nil {
		return res, &syncError{kind: kindInstall, permanent: true, err: errors.New("observedSecrets need a secret file writer, which this akvvm was started without")}
	}
	spec.Versions = 1 // a file holds one version
	t := *c.Secret
	rec, ok, stale, err := a.deps.Secrets.Current(t)
	if err != nil {
		return res, &syncError{kind: kindInstall, err: err}
	}
	var installed []store.Installed
	if ok {
		cur := secretInstalled(c, rec)
		res.current = &cur
		installed = []store.Installed{cur}
	}
	netCtx, cancel := a.withTimeout(ctx, AttemptBudget)
	defer cancel()
	want, pre, rollback, err := a.lookSecret(netCtx, spec, c, installed)
	if err != nil {
		return res, err
	}
	if ok && stale == "" && want.Version == rec.Version {
		return res, nil
	}
	secret := pre
	if secret == nil || secret.Version.Version != want.Version {
		if secret, err = a.deps.Source.Get(netCtx, c.VaultURL, c.Name, want.Version); err != nil {
			return res, classify(disabledContext(err, c))
		}
	}
	cancel()
	written, err := a.deps.Secrets.Write(t, want.Version, []byte(secret.Value()), secret.Version.Expires)
	if err != nil {
		return res, &syncError{kind: kindInstall, err: fmt.Errorf("write version %s: %w", want.Version, err)}
	}
	why := "new version"
	switch {
	case !ok:
		why = "first write"
	case want.Version == rec.Version:
		why = stale
	case rollback:
		why = "the written version was withdrawn in the vault"
	}
	a.log.Info("wrote secret file", "secret", c.Key(), "version", written.Version, "path", t.Path,
		"mode", fmt.Sprintf("%04o", t.Mode.Perm()), "reason", why)
	ev := Event{Cert: c, Installed: secretInstalled(c, written), Rollback: rollback}
	if ok {
		ev.Previous = res.current
	}
	res.current = &ev.Installed
	res.installed++
	if rollback {
		res.rollbacks++
		res.notice = fmt.Sprintf("withdrawn in the vault: version %s; version %s is written", rec.Version, written.Version)
	}
	if c.Reload != nil {
		if err := runHook(ctx, *c.Reload, ev); err != nil {
			a.log.Warn("reload command failed; the new secret stays written", "secret", c.Key(), "error", err)
			res.hookErr = err
		}
	}
	return res, nil
}

// lookSecret returns the version c's file should hold: with nothing
// written, the vault's current version when it is usable (one GET that
// brings the value too, pre); otherwise the newest usable version of the
// listing, or, when only Get is granted, the current version (getonly.go). rollback says the written version is listed but no longer
// usable, so an older one replaces it.
func (a *Agent) lookSecret(ctx context.Context, spec Spec, c CertSpec, installed []store.Installed) (want keyvault.Version, pre *keyvault.Secret, rollback bool, err error) {
	if len(installed) == 0 {
		pre, err := a.firstInstall(ctx, spec, c, nil, nil)
		if err != nil || pre != nil {
			if pre != nil {
				return pre.Version, pre, false, nil
			}
			return keyvault.Version{}, nil, false, err
		}
	}
	versions, cur, err := a.versionsOrCurrent(ctx, spec, c, installed) // getonly.go
	if cur != nil && err == nil {
		v, err := a.currentView(c, installed, cur)
		if err != nil {
			return keyvault.Version{}, nil, false, err
		}
		if len(v.wanted) == 0 {
			return keyvault.Version{}, nil, false, &syncError{kind: kindNoUsable, err: fmt.Errorf("the current version of secret %s is not released yet", c.Name)}
		}
		return v.wanted[0], v.pre, false, nil
	}
	if err != nil {
		err = classify(err)
		if len(installed) > 0 && isNotFound(err) {
			err = keptError(err, installed, "the secret is gone from the vault")
		}
		return keyvault.Version{}, nil, false, err
	}
	now := a.clock.Now()
	all, answer, err := a.newest(ctx, c, versions, now)
	if err != nil {
		return keyvault.Version{}, nil, false, err
	}
	if len(all) == 0 {
		err := &syncError{kind: kindNoUsable, permanent: true, err: fmt.Errorf(
			"secret %s has no enabled, currently valid version (%d listed): enable a version or check its activation and expiry dates", c.Name, len(versions))}
		if len(installed) > 0 {
			return keyvault.Version{}, nil, false, keptError(err, installed, "nothing usable remains")
		}
		return keyvault.Version{}, nil, false, err
	}
	if len(installed) > 0 && installed[0].Version != all[0].Version {
		for _, v := range versions {
			if v.Version == installed[0].Version && !v.Usable(now) && all[0].Created.Before(v.Created) {
				rollback = true
			}
		}
	}
	return all[0], answer, rollback, nil
}

// secretInstalled is a secret file's record as an installed version.
func secretInstalled(c CertSpec, rec secretfile.Record) store.Installed {
	return store.Installed{Ref: c.Ref, Version: rec.Version, NotAfter: rec.NotAfter, InstalledAt: rec.InstalledAt, Location: rec.Path, Current: true}
}

// Counts is how many certificates and secrets an agent keeps, and how
// many of each are installed.
type Counts struct {
	Certificates, CertificatesInstalled int
	Secrets, SecretsInstalled           int
}

// CountKinds counts the entries of a status by kind.
func CountKinds(certs []CertStatus) Counts {
	var n Counts
	for _, c := range certs {
		if c.IsSecret() {
			n.Secrets++
			if c.Installed() {
				n.SecretsInstalled++
			}
			continue
		}
		n.Certificates++
		if c.Installed() {
			n.CertificatesInstalled++
		}
	}
	return n
}

// Installed says "2 of 3 certificates installed", with "and 1 of 1
// secrets written" when there are secrets.
func (n Counts) Installed() string {
	certs := fmt.Sprintf("%d of %d certificates installed", n.CertificatesInstalled, n.Certificates)
	secrets := fmt.Sprintf("%d of %d secrets written", n.SecretsInstalled, n.Secrets)
	switch {
	case n.Secrets == 0:
		return certs
	case n.Certificates == 0:
		return secrets
	}
	return certs + " and " + secrets
}

// Total says "3 certificates", "1 certificate and 2 secrets" or "2 secrets".
func (n Counts) Total() string {
	certs := plural(n.Certificates, "certificate")
	switch {
	case n.Secrets == 0:
		return certs
	case n.Certificates == 0:
		return plural(n.Secrets, "secret")
	}
	return certs + " and " + plural(n.Secrets, "secret")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
