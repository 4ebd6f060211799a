package config

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/akvvm/akvvm/internal/keyvault"
)

// Secret is one observed plain secret and the file it is written to
// (Linux, akvvm extension observedSecrets).
type Secret struct {
	// URL is the secret's URL, without a version.
	URL keyvault.SecretURL
	// Path is the file's absolute path.
	Path string
	// Mode is the file's permission bits (default 0600).
	Mode fs.FileMode
	// Owner and Group are user and group names or numeric ids; empty
	// keeps the service's own (root).
	Owner, Group string
	// ReloadCommand is the argv run after the file changed; empty for none.
	ReloadCommand []string
	// ReloadTimeout bounds ReloadCommand.
	ReloadTimeout time.Duration
}

// DefaultSecretMode is the mode of a secret file when mode is not given.
const DefaultSecretMode fs.FileMode = 0o600

// secretModeExample is the form the hints suggest for mode.
const secretModeExample = `Write the permission bits as an octal string, such as "0600" (the owner reads and writes) or "0640" (the group reads too).`

// parseSecrets reads observedSecrets: a list of objects, each a versionless
// secret URL and a file.
func parseSecrets(v any, p string, s Schema, r *report) []Secret {
	items, ok := v.([]any)
	if !ok {
		r.add(p, "must be a list, but is "+describe(v), `Write a list such as [{"url": "https://myvault.vault.azure.net/secrets/db-password", "path": "/etc/myapp/db-password"}].`)
		return nil
	}
	if len(items) == 0 {
		r.warn(p, "is empty, so no secret is written", "Add a secret, or remove observedSecrets.")
	}
	out := make([]Secret, 0, len(items))
	paths := map[string]int{}
	for i, item := range items {
		ip := index(p, i)
		o, ok := r.asObject(item, ip, "an object")
		if !ok {
			continue
		}
		sec, ok := parseSecret(o, ip, s, r)
		if !ok {
			continue
		}
		if first, dup := paths[sec.Path]; dup {
			r.add(field(ip, "path"), fmt.Sprintf("%q is also the path of %s; both would write one file", sec.Path, index(p, first)),
				"Give every secret its own file.")
			continue
		}
		paths[sec.Path] = i
		out = append(out, sec)
	}
	return out
}

// parseSecret reads one entry of observedSecrets.
func parseSecret(o *object, p string, s Schema, r *report) (Secret, bool) {
	checkFields(o, p, s, lvSecret, r)
	sec := Secret{Mode: DefaultSecretMode, ReloadTimeout: DefaultReloadTimeout}
	ok := true
	if v := o.vals["url"]; v == nil {
		r.add(field(p, "url"), "is missing", `Add "url": "https://<vault>.vault.azure.net/secrets/<secret name>".`)
		ok = false
	} else {
		u, urlOK := secretURL(v, field(p, "url"), s, r)
		if urlOK && u.Version != "" {
			r.add(field(p, "url"), fmt.Sprintf("pins version %s, but observedSecrets always writes the newest enabled version of a secret", u.Version),
				fmt.Sprintf("Write %s (no version) in observedSecrets; to hold a version, disable the newer ones in the vault.", keyvault.SecretURL{Host: u.Host, Name: u.Name}))
			urlOK = false
		}
		sec.URL, ok = u, ok && urlOK
	}
	if v := o.vals["path"]; v == nil {
		r.add(field(p, "path"), "is missing", `Add the file to write the secret to, such as "path": "/etc/myapp/db-password".`)
		ok = false
	} else if name, pathOK := secretPath(v, field(p, "path"), r); pathOK {
		sec.Path = name
	} else {
		ok = false
	}
	if v := o.vals["mode"]; v != nil {
		if m, modeOK := secretMode(v, field(p, "mode"), r); modeOK {
			sec.Mode = m
		}
	}
	if v := o.vals["owner"]; v != nil {
		sec.Owner = principal(v, field(p, "owner"), r)
	}
	if v := o.vals["group"]; v != nil {
		sec.Group = principal(v, field(p, "group"), r)
	}
	parseReload(o, p, &sec.ReloadCommand, &sec.ReloadTimeout, nil, r)
	return sec, ok
}

// secretPath checks the file of a secret: absolute, clean, a file name.
func secretPath(v any, p string, r *report) (string, bool) {
	name, ok := r.asString(v, p)
	if !ok {
		return "", false
	}
	switch {
	case !strings.HasPrefix(name, "/"):
		r.add(p, fmt.Sprintf("%q is relative: the service's working directory is not yours", name), "Write the absolute path of the file, one that starts with /.")
		return "", false
	case strings.ContainsAny(name, "\x00\n\r"):
		r.add(p, "contains a NUL or line break", "Write the file's path without control characters.")
		return "", false
	case strings.HasSuffix(name, "/") || path.Clean(name) == "/":
		r.add(p, fmt.Sprintf("%q names a directory", name), `Name the file itself, such as "/etc/myapp/db-password".`)
		return "", false
	}
	clean := path.Clean(name)
	if clean != name {
		r.warn(p, fmt.Sprintf("%q is written as %q", name, clean), fmt.Sprintf("Write %q to silence this warning.", clean))
	}
	return clean, true
}

// secretMode reads a file mode: an octal string of permission bits.
func secretMode(v any, p string, r *report) (fs.FileMode, bool) {
	text, isString := v.(string)
	if !isString {
		if n, isNumber := v.(json.Number); isNumber {
			r.add(p, fmt.Sprintf("is the number %s, which JSON reads as decimal, not octal", n), fmt.Sprintf(`Write it as a string: "mode": "0%s".`, strings.TrimLeft(n.String(), "0")))
			return 0, false
		}
		r.add(p, "must be an octal string, but is "+describe(v), secretModeExample)
		return 0, false
	}
	digits := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(text), "0o"), "0O")
	n, err := strconv.ParseUint(digits, 8, 32)
	switch {
	case err != nil || digits == "":
		r.add(p, fmt.Sprintf("%q is not an octal mode", text), secretModeExample)
		return 0, false
	case n > 0o777:
		r.add(p, fmt.Sprintf("%q sets more than the permission bits (setuid, setgid or sticky)", text), secretModeExample)
		return 0, false
	case n&0o400 == 0 && n&0o040 == 0:
		r.add(p, fmt.Sprintf("%q lets neither the owner nor the group read the file", text), secretModeExample)
		return 0, false
	}
	m := fs.FileMode(n)
	if m&0o007 != 0 {
		r.warn(p, fmt.Sprintf("%q lets every user on the machine read or change the secret", text), `Use "0600" or "0640" with an owner and group, unless every user really needs it.`)
	}
	return m, true
}
