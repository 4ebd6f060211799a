package config

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/akvvm/akvvm/internal/store"
)

// windowsLocation checks a Windows certificateStoreLocation, which is
// case-sensitive.
func windowsLocation(v any, p string, r *report) string {
	s, ok := r.asString(v, p)
	if !ok {
		return DefaultStoreLocation
	}
	for _, want := range []string{"LocalMachine", "CurrentUser"} {
		switch {
		case s == want:
			return s
		case strings.EqualFold(s, want):
			r.add(p, fmt.Sprintf("%q is not a store location: the value is case-sensitive", s), fmt.Sprintf("Write %q.", want))
			return DefaultStoreLocation
		case strings.HasPrefix(strings.ToLower(s), strings.ToLower(want)+`\`):
			r.add(p, fmt.Sprintf("%q combines a location and a store name", s),
				fmt.Sprintf("Write %q here and put the store name (such as %q) in certificateStoreName.", want, s[len(want)+1:]))
			return DefaultStoreLocation
		}
	}
	switch {
	case s == "":
		r.add(p, "is empty", `Remove it to use LocalMachine, or write "LocalMachine" or "CurrentUser".`)
	case strings.HasPrefix(s, "/") || strings.Contains(s, `\`) || strings.Contains(s, ":"):
		r.add(p, fmt.Sprintf("%q is a path, but on Windows the location is LocalMachine or CurrentUser", s),
			"Use LocalMachine (the machine's stores) or CurrentUser; for a directory store validate with --platform linux.")
	default:
		r.add(p, fmt.Sprintf("%q is not a store location", s), `Use "LocalMachine" or "CurrentUser" (case-sensitive).`)
	}
	return DefaultStoreLocation
}

// windowsStoreName checks a Windows certificateStoreName. Windows store
// names are not case-sensitive and custom stores are allowed, so only
// empty values and the display names shown by certlm.msc are rejected.
func windowsStoreName(v any, p string, r *report) string {
	s, ok := r.asString(v, p)
	if !ok {
		return DefaultStoreName
	}
	display := map[string]string{
		"personal":                               "MY",
		"trusted people":                         "TrustedPeople",
		"intermediate certification authorities": "CA",
		"trusted root certification authorities": "Root",
		"web hosting":                            "WebHosting",
		"trusted publishers":                     "TrustedPublisher",
	}
	if want := display[strings.ToLower(s)]; want != "" {
		r.add(p, fmt.Sprintf("%q is the name certlm.msc displays, not the store's system name", s), fmt.Sprintf("Write %q.", want))
		return DefaultStoreName
	}
	if err := store.CheckStoreName(s); err != nil {
		r.addName(p, err)
		return DefaultStoreName
	}
	return s
}

// linuxDirectory checks a Linux certificateStoreLocation with the store's
// own rules (store.CheckDirectory) and returns it cleaned.
func linuxDirectory(v any, p string, r *report) string {
	s, ok := r.asString(v, p)
	if !ok {
		return DefaultLinuxStore
	}
	if s == "LocalMachine" || s == "CurrentUser" {
		r.add(p, fmt.Sprintf("%q is a Windows store location, but on Linux certificateStoreLocation is a directory", s),
			"Remove it to use "+DefaultLinuxStore+", or give an absolute directory; validate with --platform windows if these settings are for Windows.")
		return DefaultLinuxStore
	}
	if err := store.CheckDirectory(s); err != nil {
		r.addName(p, err)
		return DefaultLinuxStore
	}
	return path.Clean(s)
}

// linkName checks a Linux customSymbolicLinkName with the store's own
// rules (store.CheckLinkName).
func linkName(v any, p string, r *report) string {
	s, ok := r.asString(v, p)
	if !ok {
		return ""
	}
	if err := store.CheckLinkName(s); err != nil {
		r.addName(p, err)
		return ""
	}
	return s
}

// addName reports a value the store's name rules refuse, in the words
// the store uses at install.
func (r *report) addName(p string, err error) {
	var ne *store.NameError
	if errors.As(err, &ne) {
		r.add(p, ne.Message(), ne.Hint)
		return
	}
	r.add(p, err.Error(), "")
}
