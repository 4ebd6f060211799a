package agent

import (
	"fmt"
	"math"
	"time"

	"github.com/akvvm/akvvm/internal/certbundle"
)

// DefaultExpiryWarning is the longest default time before its expiry at
// which the installed current version is a warning; a certificate whose
// lifetime is shorter than three times it warns at a third of its lifetime.
const DefaultExpiryWarning = 30 * 24 * time.Hour

// The kinds of validity warning.
const (
	expiresSoon = "expires soon"
	hasExpired  = "has expired"
	notValidYet = "is not valid yet"
)

// ExpiryThreshold is how long before notAfter a certificate valid from
// notBefore is a warning: setting when it is set, else the shorter of
// DefaultExpiryWarning and a third of the lifetime (DefaultExpiryWarning
// when notBefore is unknown).
func ExpiryThreshold(setting time.Duration, notBefore, notAfter time.Time) time.Duration {
	if setting > 0 {
		return setting
	}
	if notBefore.IsZero() || !notAfter.After(notBefore) {
		return DefaultExpiryWarning
	}
	return min(DefaultExpiryWarning, notAfter.Sub(notBefore)/3)
}

// validity judges the installed current version of c at now. It returns
// the kind of warning and the text the status shows, or two empty strings.
// A successful check leaves the newest usable version current, so an
// expiring current version means the vault offers no newer usable one;
// failed says the last check failed, so that is not known.
func validity(c CertStatus, setting time.Duration, now time.Time, pinned, failed bool) (kind, text string) {
	if !c.Installed() || c.NotAfter.IsZero() {
		return "", ""
	}
	v := "version " + shortID(c.InstalledVersion)
	why := "and the vault offers no newer usable version: renew or rotate the certificate in Key Vault"
	switch {
	case pinned:
		why = "and the version is pinned: pin a newer version in observedCertificates"
	case failed:
		why = "and no newer version is installed because the last check failed (see its error)"
	}
	switch {
	case !c.NotBefore.IsZero() && now.Before(c.NotBefore):
		return notValidYet, fmt.Sprintf("%s is not valid before %s (%s): applications may refuse it until then",
			v, stamp(c.NotBefore), inWords(c.NotBefore.Sub(now)))
	case !now.Before(c.NotAfter):
		return hasExpired, fmt.Sprintf("%s expired on %s (%s ago) %s", v, stamp(c.NotAfter), words(now.Sub(c.NotAfter)), why)
	case c.NotAfter.Sub(now) <= ExpiryThreshold(setting, c.NotBefore, c.NotAfter):
		return expiresSoon, fmt.Sprintf("%s expires on %s (%s) %s", v, stamp(c.NotAfter), inWords(c.NotAfter.Sub(now)), why)
	}
	return "", ""
}

// outsideValidity says whether a certificate valid from notBefore to
// notAfter is not valid at now, and how: hasExpired or notValidYet.
func outsideValidity(notBefore, notAfter, now time.Time) string {
	switch {
	case now.Before(notBefore):
		return notValidYet
	case !now.Before(notAfter):
		return hasExpired
	}
	return ""
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// inWords is a time ahead in words: "in 10 days", "in 5 hours".
func inWords(d time.Duration) string { return "in " + words(d) }

// words is a duration in whole days, or whole hours below two days.
func words(d time.Duration) string {
	if d < 48*time.Hour {
		h := int(math.Round(d.Hours()))
		if h == 1 {
			return "1 hour"
		}
		return fmt.Sprintf("%d hours", h)
	}
	return fmt.Sprintf("%d days", int(math.Round(d.Hours()/24)))
}

// shortID shortens a 32-digit Key Vault version for messages.
func shortID(v string) string {
	if len(v) > 12 {
		return v[:12] + "…"
	}
	return v
}

// warnInvalid logs a WARN when the version just installed is expired or
// not valid yet at the agent's clock, and notes it in res.
func (a *Agent) warnInvalid(c CertSpec, res *result, version string, b *certbundle.Bundle) {
	if b == nil || b.Leaf == nil {
		return
	}
	kind := outsideValidity(b.Leaf.NotBefore, b.Leaf.NotAfter, a.clock.Now())
	if kind == "" {
		return
	}
	a.log.Warn("installed a version that "+kind,
		"certificate", c.Key(), "version", version, "notBefore", b.Leaf.NotBefore, "notAfter", b.Leaf.NotAfter)
	if res.warned == nil {
		res.warned = map[string]bool{}
	}
	res.warned[version] = true
}

// judgeValidity sets the validity warning of st after a check and logs
// it once per check, unless the install of the current version in this
// check logged it already. The caller holds a.mu.
func (a *Agent) judgeValidity(spec Spec, c CertSpec, st *CertStatus, res result, now time.Time, failed bool) {
	kind, text := validity(*st, spec.ExpiryWarning, now, c.PinnedVersion != "", failed)
	st.ValidityWarning = text
	if kind == "" || res.warned[st.InstalledVersion] {
		return
	}
	a.log.Warn("installed certificate "+kind, "certificate", c.Key(), "version", st.InstalledVersion,
		"notBefore", st.NotBefore, "notAfter", st.NotAfter, "warning", text)
}
