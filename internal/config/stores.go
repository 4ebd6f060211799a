package config

import (
	"fmt"
	"path"
	"strings"
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
	switch {
	case strings.TrimSpace(s) == "":
		r.add(p, "is empty", `Remove it to use MY (Personal), or write a store name such as "MY" or "TrustedPeople".`)
	case display[strings.ToLower(s)] != "":
		r.add(p, fmt.Sprintf("%q is the name certlm.msc displays, not the store's system name", s), fmt.Sprintf("Write %q.", display[strings.ToLower(s)]))
	case strings.Contains(s, `\`):
		r.add(p, fmt.Sprintf("%q is not a store name", s), "Write the store name alone (such as MY) and the location in certificateStoreLocation.")
	default:
		return s
	}
	return DefaultStoreName
}

// linuxDirectory checks a Linux certificateStoreLocation, an absolute directory.
func linuxDirectory(v any, p string, r *report) string {
	s, ok := r.asString(v, p)
	if !ok {
		return DefaultLinuxStore
	}
	switch {
	case s == "LocalMachine" || s == "CurrentUser":
		r.add(p, fmt.Sprintf("%q is a Windows store location, but on Linux certificateStoreLocation is a directory", s),
			"Remove it to use "+DefaultLinuxStore+", or give an absolute directory; validate with --platform windows if these settings are for Windows.")
	case !strings.HasPrefix(s, "/") || strings.ContainsRune(s, 0):
		r.add(p, fmt.Sprintf("%q is not an absolute directory", s), "Write a path that starts with /, such as "+DefaultLinuxStore+".")
	case path.Clean(s) == "/":
		r.add(p, "is the root directory", "Use a directory of its own, such as "+DefaultLinuxStore+".")
	default:
		return path.Clean(s)
	}
	return DefaultLinuxStore
}

// linkName checks a Linux customSymbolicLinkName, a file name.
func linkName(v any, p string, r *report) string {
	s, ok := r.asString(v, p)
	if !ok {
		return ""
	}
	if s == "" || s == "." || s == ".." || len(s) > 255 || strings.ContainsAny(s, "/\x00") {
		r.add(p, fmt.Sprintf("%q is not a file name", s), "Give a plain file name without slashes, such as app1Cert1; the link is created inside certificateStoreLocation.")
		return ""
	}
	return s
}
