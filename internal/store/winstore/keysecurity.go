package winstore

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// SIDs that always get full control of an installed private key.
const (
	sidAdministrators = "S-1-5-32-544"
	sidSystem         = "S-1-5-18"
)

// wellKnownSIDs maps the English names of well-known accounts to their SIDs,
// so "Network Service" works on every display language of Windows.
var wellKnownSIDs = map[string]string{
	"network service":     "S-1-5-20",
	"networkservice":      "S-1-5-20",
	"local service":       "S-1-5-19",
	"localservice":        "S-1-5-19",
	"system":              sidSystem,
	"local system":        sidSystem,
	"localsystem":         sidSystem,
	"administrators":      sidAdministrators,
	"users":               "S-1-5-32-545",
	"iis_iusrs":           "S-1-5-32-568",
	"everyone":            "S-1-1-0",
	"authenticated users": "S-1-5-11",
}

// sidPattern is the string form of a SID: S-1-<authority>-<sub>...
var sidPattern = regexp.MustCompile(`^S-1-[0-9]+(-[0-9]+)+$`)

// wellKnownSID returns the SID of a well-known account name, with or without
// its "NT AUTHORITY\" or "BUILTIN\" domain, in any case; or a SID string as is.
func wellKnownSID(account string) (string, bool) {
	a := strings.TrimSpace(account)
	if sidPattern.MatchString(strings.ToUpper(a)) {
		return strings.ToUpper(a), true
	}
	l := strings.ToLower(a)
	for _, d := range []string{`nt authority\`, `builtin\`} {
		l = strings.TrimPrefix(l, d)
	}
	sid, ok := wellKnownSIDs[l]
	return sid, ok
}

// LookupFunc resolves an account name to a SID string through the OS.
type LookupFunc func(account string) (string, error)

// resolveAccounts turns account names into SIDs: well-known names and SID
// strings directly, everything else through lookup. Every unknown account is
// reported, by name.
func resolveAccounts(accounts []string, lookup LookupFunc) ([]string, error) {
	var sids []string
	var errs []error
	for _, a := range accounts {
		if strings.TrimSpace(a) == "" {
			errs = append(errs, errors.New("an accounts entry is empty: remove it or name a user or group"))
			continue
		}
		if sid, ok := wellKnownSID(a); ok {
			sids = append(sids, sid)
			continue
		}
		if lookup == nil {
			errs = append(errs, fmt.Errorf("account %q cannot be resolved on this system", a))
			continue
		}
		sid, err := lookup(a)
		if err != nil {
			errs = append(errs, fmt.Errorf("account %q was not found (%w): name an existing local or domain user or group, e.g. \"Network Service\" or \"DOMAIN\\user\"", a, err))
			continue
		}
		sids = append(sids, sid)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("private-key permissions (accounts): %w", errors.Join(errs...))
	}
	return sids, nil
}

// KeySecurity returns the SDDL security descriptor for an installed private
// key: a protected DACL granting Administrators, SYSTEM and each of
// fullControl full control, and each of readers read. Entries are SID strings.
func KeySecurity(fullControl, readers []string) (string, error) {
	full := []string{sidAdministrators, sidSystem}
	for _, s := range fullControl {
		if !slices.Contains(full, s) {
			full = append(full, s)
		}
	}
	var b strings.Builder
	b.WriteString("D:P")
	for _, s := range full {
		if !sidPattern.MatchString(s) {
			return "", fmt.Errorf("%q is not a SID", s)
		}
		fmt.Fprintf(&b, "(A;;FA;;;%s)", s)
	}
	var seen []string
	for _, s := range readers {
		if !sidPattern.MatchString(s) {
			return "", fmt.Errorf("%q is not a SID", s)
		}
		if slices.Contains(full, s) || slices.Contains(seen, s) {
			continue
		}
		seen = append(seen, s)
		fmt.Fprintf(&b, "(A;;FR;;;%s)", s)
	}
	return b.String(), nil
}
