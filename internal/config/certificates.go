package config

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/store"
)

// certDefaults are the secretsManagementSettings-level values every
// certificate starts from.
type certDefaults struct {
	storeName, storeLocation string
	aclEnabled               bool
	reloadCommand            []string
	reloadTimeout            time.Duration
	activationDelay          time.Duration
}

// usesObjects reports whether schema s lists certificates as objects.
func usesObjects(s Schema) bool { return s.Version != "1.0" && s.Version != "2.0" }

// parseCertificates reads observedCertificates.
func parseCertificates(v any, path string, s Schema, d certDefaults, r *report) []Certificate {
	items, ok := v.([]any)
	if !ok {
		hint := "Write a list in brackets [...]."
		if str, isString := v.(string); isString {
			hint = fmt.Sprintf("Put the URL in brackets: [%q].", str)
			if usesObjects(s) {
				hint = fmt.Sprintf(`Write [{"url": %q}].`, str)
			}
		}
		r.add(path, "must be a list, but is "+describe(v), hint)
		return nil
	}
	if len(items) == 0 {
		r.add(path, "is empty, so nothing would be watched", "Add the secret URL of at least one certificate.")
		return nil
	}
	certs := make([]Certificate, 0, len(items))
	seen := map[string]int{}
	for i, item := range items {
		p := index(path, i)
		c, ok := parseCertificate(item, p, s, d, r)
		if !ok {
			continue
		}
		if c.URL.Version != "" {
			c.ActivationDelay = 0 // a pinned version is installed as pinned
		}
		key := strings.Join([]string{c.URL.Host, strings.ToLower(c.URL.Name), c.StoreLocation, strings.ToUpper(c.StoreName)}, "|")
		if first, dup := seen[key]; dup {
			r.add(p, fmt.Sprintf("watches the same certificate, installed at the same place, as %s", index(path, first)),
				"Remove one of the two entries.")
		} else {
			seen[key] = i
		}
		if c.LinkName != "" {
			lk := "link|" + c.StoreLocation + "|" + c.LinkName
			if first, dup := seen[lk]; dup {
				r.add(field(p, "customSymbolicLinkName"), fmt.Sprintf("%q is also the link name of %s in the same directory", c.LinkName, index(path, first)),
					"Give every certificate in a directory its own link name.")
			} else {
				seen[lk] = i
			}
		}
		if c.Outputs.Any() {
			ol := effectiveLinkName(c) + store.OutputsLinkSuffix
			lk := "link|" + c.StoreLocation + "|" + ol
			if first, dup := seen[lk]; dup {
				r.add(field(p, "outputs"), fmt.Sprintf("its link %q is also the link name of %s in the same directory", ol, index(path, first)),
					"Give every certificate in a directory its own customSymbolicLinkName.")
			} else {
				seen[lk] = i
			}
		}
		certs = append(certs, c)
	}
	return certs
}

// parseCertificate reads one entry of observedCertificates.
func parseCertificate(item any, path string, s Schema, d certDefaults, r *report) (Certificate, bool) {
	c := Certificate{StoreName: d.storeName, StoreLocation: d.storeLocation, ReloadCommand: d.reloadCommand, ReloadTimeout: d.reloadTimeout,
		ActivationDelay: d.activationDelay}
	if s.Platform == Linux {
		c.StoreName = ""
	}
	str, isString := item.(string)
	if isString && usesObjects(s) {
		if inner, ok := decodeEmbedded(str, path, r); ok {
			r.warn(path, "the entry is a JSON string that contains the object (double-encoded); akvvm decoded it", doubleEncodedHint)
			item, isString = inner, false
		}
	}
	switch {
	case isString && usesObjects(s) && s.Platform == Windows:
		r.add(path, fmt.Sprintf("is a URL string, but %s lists certificates as objects", s),
			fmt.Sprintf(`Write {"url": %q} (the store defaults to MY in LocalMachine), or validate with --compat 1.0 for the flat 1.0 schema.`, str))
		return c, false
	case isString:
		u, ok := secretURL(str, path, s, r)
		c.URL = u
		return c, ok
	}
	o, isObject := item.(*object)
	if !isObject || !usesObjects(s) {
		hint := `Write the secret URL as a string, such as "https://myvault.vault.azure.net/secrets/mycert".`
		if isObject {
			hint = fmt.Sprintf(`%s lists certificates as URL strings: write the url value alone, or validate with --compat 3.0 for per-certificate objects.`, s)
		}
		r.add(path, "must be a secret URL string, but is "+describe(item), hint)
		return c, false
	}
	checkFields(o, path, s, lvCert, r)
	ok := true
	if v := o.vals["url"]; v == nil {
		r.add(field(path, "url"), "is missing", `Add "url": "https://<vault>.vault.azure.net/secrets/<certificate name>".`)
		ok = false
	} else {
		var urlOK bool
		c.URL, urlOK = secretURL(v, field(path, "url"), s, r)
		ok = ok && urlOK
	}
	switch s.Platform {
	case Windows:
		if v := o.vals["certificateStoreName"]; v != nil {
			c.StoreName = windowsStoreName(v, field(path, "certificateStoreName"), r)
		}
		if v := o.vals["certificateStoreLocation"]; v != nil {
			c.StoreLocation = windowsLocation(v, field(path, "certificateStoreLocation"), r)
		}
		if v := o.vals["accounts"]; v != nil {
			c.Accounts, _ = r.asStringList(v, field(path, "accounts"), `["Network Service", "Local Service"]`)
		}
		if s.Version == "3.0" {
			c.KeyExportable = optBool(o, path, "keyExportable", r)
		}
	case Linux:
		if v := o.vals["certificateStoreLocation"]; v != nil {
			c.StoreLocation = linuxDirectory(v, field(path, "certificateStoreLocation"), r)
		}
		if v := o.vals["certificateStoreName"]; v != nil {
			r.warn(field(path, "certificateStoreName"), "is ignored on Linux", "Linux has no named stores; certificateStoreLocation is the directory. Remove it to silence this warning.")
		}
		if v := o.vals["customSymbolicLinkName"]; v != nil {
			c.LinkName = linkName(v, field(path, "customSymbolicLinkName"), r)
		}
		if v := o.vals["acls"]; v != nil {
			c.ACLs = parseACLs(v, field(path, "acls"), s, d.aclEnabled, r)
		}
		if v := o.vals["outputs"]; v != nil {
			c.Outputs = parseOutputs(v, field(path, "outputs"), s, r)
		}
		c.RelativeLinks = optBool(o, path, "relativeLinks", r)
		if link := effectiveLinkName(c); c.Outputs.Any() && c.URL.Name != "" && len(link)+len(store.OutputsLinkSuffix) > store.MaxLinkNameLen {
			r.add(field(path, "customSymbolicLinkName"), fmt.Sprintf("%q is too long for the link of the output files, %q, which may have at most %d bytes", link, link+store.OutputsLinkSuffix, store.MaxLinkNameLen),
				"Choose a shorter customSymbolicLinkName.")
		}
	}
	parseReload(o, path, &c.ReloadCommand, &c.ReloadTimeout, d.reloadCommand, r)
	parseActivationDelay(o, path, &c, r)
	return c, ok
}

// secretURL checks one observed URL for schema s.
func secretURL(v any, path string, s Schema, r *report) (keyvault.SecretURL, bool) {
	raw, ok := r.asString(v, path)
	if !ok {
		return keyvault.SecretURL{}, false
	}
	if trimmed := strings.TrimSpace(raw); trimmed != raw && trimmed != "" {
		r.warn(path, "has spaces around the URL; akvvm ignores them", "Remove the spaces inside the quotes (the Azure CLI example in the 1.0 documentation adds them).")
		raw = trimmed
	}
	u, err := keyvault.ParseSecretURL(raw)
	var ue *keyvault.URLError
	if errors.As(err, &ue) {
		msg := fmt.Sprintf("%q %s", ue.URL, ue.Reason)
		if raw == "" {
			msg = ue.Reason
		}
		r.add(path, msg, ue.Fix)
		return u, false
	}
	if u.Version != "" && s == (Schema{Windows, "4.0"}) {
		r.add(path, fmt.Sprintf("pins version %s, but 4.0 cannot pin a version: it always installs the newest ones", u.Version),
			fmt.Sprintf("Write %s to follow the latest version, or validate and run with --compat 3.0 to keep the pinned version.", keyvault.SecretURL{Host: u.Host, Name: u.Name}))
		return u, false
	}
	return u, true
}

// parseACLs reads a Linux acls list.
func parseACLs(v any, path string, s Schema, enabled bool, r *report) []store.ACL {
	items, ok := v.([]any)
	if !ok {
		r.add(path, "must be a list, but is "+describe(v), `Write a list such as [{"user": "app1", "group": "appGroup1"}].`)
		return nil
	}
	if !enabled && len(items) > 0 {
		r.add(path, "would be ignored because secretsManagementSettings.aclEnabled is not true",
			`Add "aclEnabled": true to secretsManagementSettings, or remove acls.`)
	}
	acls := make([]store.ACL, 0, len(items))
	for i, item := range items {
		p := index(path, i)
		o, ok := r.asObject(item, p, "an object")
		if !ok {
			continue
		}
		checkFields(o, p, s, lvACL, r)
		var a store.ACL
		if u := o.vals["user"]; u != nil {
			a.User = principal(u, field(p, "user"), r)
		}
		if g := o.vals["group"]; g != nil {
			a.Group = principal(g, field(p, "group"), r)
		}
		if a.User == "" && a.Group == "" {
			r.add(p, "names neither a user nor a group", `Write {"user": "app1"}, {"group": "appGroup1"} or both.`)
			continue
		}
		acls = append(acls, a)
	}
	return acls
}

// principal checks a Linux user or group name.
func principal(v any, path string, r *report) string {
	s, ok := r.asString(v, path)
	if !ok {
		return ""
	}
	if s == "" || strings.ContainsAny(s, " \t\n:,/") {
		r.add(path, fmt.Sprintf("%q is not a user or group name", s), "Use the account name as id(1) prints it, without spaces, colons, commas or slashes.")
		return ""
	}
	return s
}

// parseReload reads the akvvm extension fields reloadCommand and
// reloadTimeoutInS of o into cmd and timeout. inherited is the command
// already in effect from secretsManagementSettings.
func parseReload(o *object, path string, cmd *[]string, timeout *time.Duration, inherited []string, r *report) {
	if v := o.vals["reloadCommand"]; v != nil {
		p := field(path, "reloadCommand")
		if _, isString := v.(string); isString {
			r.add(p, "must be a list of strings (the program and its arguments), but is "+describe(v),
				`Write the program and each argument as a separate string, such as ["systemctl", "reload", "nginx"]; for a shell command use ["/bin/sh", "-c", "..."] (Windows: ["powershell.exe", "-Command", "..."]).`)
		} else if list, ok := r.asStringList(v, p, `["systemctl", "reload", "nginx"]`); ok {
			if len(list) == 0 {
				r.add(p, "is an empty list", `Give the program and its arguments, such as ["systemctl", "reload", "nginx"], or remove reloadCommand.`)
			}
			*cmd = list
		}
	}
	if v := o.vals["reloadTimeoutInS"]; v != nil {
		p := field(path, "reloadTimeoutInS")
		if n, ok := r.asSeconds(v, p); ok {
			switch {
			case n > 3600:
				r.add(p, fmt.Sprintf("is %d seconds; a reload may take at most 3600", n), "Use a value from 1 to 3600 (default 30).")
			case len(*cmd) == 0 && len(inherited) == 0:
				r.add(p, "has no effect without reloadCommand", "Add reloadCommand, or remove reloadTimeoutInS.")
			}
			*timeout = time.Duration(n) * time.Second
		}
	}
}

// effectiveLinkName is the certificate's link name: customSymbolicLinkName
// or <vault>.<name>.
func effectiveLinkName(c Certificate) string {
	if c.LinkName != "" {
		return c.LinkName
	}
	return c.URL.Vault + "." + c.URL.Name
}

// parseOutputs reads the akvvm extension field outputs of a Linux
// certificate: booleans cert, chain, fullChain, key, and pfx as a boolean
// or an object with passwordFile. The password file itself is checked on
// this machine by validate and when the PFX is written.
func parseOutputs(v any, p string, s Schema, r *report) store.Outputs {
	var out store.Outputs
	o, ok := r.asObject(v, p, "an object")
	if !ok {
		return out
	}
	checkFields(o, p, s, lvOutputs, r)
	out.Cert = optBool(o, p, "cert", r)
	out.Chain = optBool(o, p, "chain", r)
	out.FullChain = optBool(o, p, "fullChain", r)
	out.Key = optBool(o, p, "key", r)
	if pv := o.vals["pfx"]; pv != nil {
		pp := field(p, "pfx")
		switch t := pv.(type) {
		case *object:
			out.PFX = true
			checkFields(t, pp, s, lvPFX, r)
			if f := t.vals["passwordFile"]; f != nil {
				fp := field(pp, "passwordFile")
				if name, ok := r.asString(f, fp); ok {
					if err := store.CheckPasswordFilePath(name); err != nil {
						r.addName(fp, err)
					} else {
						out.PFXPasswordFile = path.Clean(name)
					}
				}
			}
		case bool, string:
			out.PFX, _ = r.asBool(pv, pp)
		default:
			r.add(pp, "must be true, false or an object, but is "+describe(pv),
				`Write "pfx": true for a PFX without password, or "pfx": {"passwordFile": "/etc/akvvm/pfx.pass"}.`)
		}
	}
	if !out.Any() {
		r.warn(p, "asks for no file, so none is written", `Set at least one of cert, chain, fullChain, key or pfx to true, or remove outputs.`)
	}
	return out
}
