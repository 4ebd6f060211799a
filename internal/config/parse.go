package config

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// Options says how to read settings.
type Options struct {
	// Schema is the schema to apply. It is never guessed: the caller picks
	// it (the extension version in handler mode, --compat on the command line).
	Schema Schema
}

// ParseFile reads settings from a file; see Parse.
func ParseFile(path string, opts Options) (*Settings, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read settings: %w; check the path and that akvvm may read the file", err)
	}
	return Parse(data, opts)
}

// Parse reads the public settings of the extension in the schema
// opts.Schema. It accepts the settings object itself, the guest agent's
// RuntimeSettings file ({"runtimeSettings":[{"handlerSettings":{"publicSettings":…}}]}),
// an ARM extension resource or an Azure CLI extension object (with a
// "settings" property). On failure the error is Errors and lists every
// problem found.
func Parse(data []byte, opts Options) (*Settings, error) {
	if !opts.Schema.valid() {
		return nil, fmt.Errorf("config: schema %q/%q is not known: use one of Schemas()", opts.Schema.Platform, opts.Schema.Version)
	}
	r := &report{}
	var s *Settings
	within := ""
	if v, ok := decodeText(data, "", r); ok {
		if o, prefix, ok := unwrap(v, opts.Schema, r); ok {
			within = prefix
			s = parseSettings(o, prefix, opts.Schema, r)
		}
	}
	relativeTo(r.errs, within)
	relativeTo(r.warns, within)
	if len(r.errs) > 0 {
		return nil, r.errs
	}
	s.Warnings = r.warns
	s.Within = within
	return s, nil
}

// unwrap finds the settings object inside the forms Parse accepts and
// returns it with its JSON path.
func unwrap(v any, s Schema, r *report) (*object, string, bool) {
	o, ok := r.asSettingsObject(v, "")
	if !ok {
		return nil, "", false
	}
	if _, bare := o.vals["secretsManagementSettings"]; bare {
		return o, "", true
	}
	if rs, ok := o.vals["runtimeSettings"]; ok {
		list, isList := rs.([]any)
		if !isList || len(list) != 1 {
			r.add("runtimeSettings", "must be a list with exactly one entry, but is "+describe(rs), "Write the guest agent's settings file as {\"runtimeSettings\":[{\"handlerSettings\":{\"publicSettings\":{...}}}]}.")
			return nil, "", false
		}
		path := "runtimeSettings[0]"
		entry, ok := r.asObject(list[0], path, "an object")
		if !ok {
			return nil, "", false
		}
		return descend(entry, path, r, "handlerSettings", "publicSettings")
	}
	if props, ok := o.vals["properties"].(*object); ok {
		if _, has := props.vals["settings"]; has {
			checkExtension(props, "properties", s, r)
			return descend(props, "properties", r, "settings")
		}
	}
	if _, has := o.vals["settings"]; has {
		checkExtension(o, "", s, r)
		return descend(o, "", r, "settings")
	}
	return o, "", true
}

// descend follows keys from o, each of which must hold an object; the
// last one holds the settings object.
func descend(o *object, path string, r *report, keys ...string) (*object, string, bool) {
	for i, k := range keys {
		p := field(path, k)
		v, has := o.vals[k]
		if !has || v == nil {
			r.add(p, "is missing", "The extension's settings object goes here.")
			return nil, "", false
		}
		var next *object
		var ok bool
		if i == len(keys)-1 {
			next, ok = r.asSettingsObject(v, p)
		} else {
			next, ok = r.asObject(v, p, "an object")
		}
		if !ok {
			return nil, "", false
		}
		o, path = next, p
	}
	return o, path, true
}

// checkExtension compares the extension type and version of an ARM or CLI
// object with the schema the caller chose. When the type belongs to the
// other platform, one problem names both flags to use; the version is then
// judged against that platform's schemas, not the chosen one.
func checkExtension(o *object, path string, s Schema, r *report) {
	got, rawVersion := handlerVersion(o)
	for _, key := range []string{"type", "typePropertiesType"} {
		t, _ := o.vals[key].(string)
		want := strings.Fields(s.String())[0]
		if strings.HasPrefix(strings.ToLower(t), "keyvaultfor") && !strings.EqualFold(t, want) {
			other := Linux
			if s.Platform == Linux {
				other = Windows
			}
			fix := fmt.Sprintf("Validate with --platform %s.", other)
			if got != "" {
				if _, err := ParseSchema(string(other), got); err == nil {
					fix = fmt.Sprintf("Validate with --platform %s --compat %s.", other, got)
				} else {
					fix = fmt.Sprintf("Validate with --platform %s; its versions are %s, not %s.", other, versionsOf(other), rawVersion)
				}
			}
			r.add(field(path, key), fmt.Sprintf("the extension is %s, but the settings are being read as %s", t, s), fix)
			return
		}
	}
	if got != "" && got != s.Version {
		r.add(field(path, "typeHandlerVersion"), fmt.Sprintf("the extension version is %s, but the settings are being read with the %s schema", rawVersion, s),
			fmt.Sprintf("Validate with --compat %s, or move the settings to the %s schema and set typeHandlerVersion to %q.", got, s.Version, s.Version))
	}
}

// handlerVersion returns typeHandlerVersion as major.minor ("4" is "4.0")
// and as written; both are empty when it is absent.
func handlerVersion(o *object) (majorMinor, raw string) {
	switch t := o.vals["typeHandlerVersion"].(type) {
	case string:
		raw = t
	case json.Number:
		raw = t.String()
	default:
		return "", ""
	}
	parts := strings.SplitN(raw, ".", 3)
	if len(parts) == 1 {
		parts = append(parts, "0")
	}
	return parts[0] + "." + parts[1], raw
}

// parseSettings reads the settings object o found at prefix.
func parseSettings(o *object, prefix string, s Schema, r *report) *Settings {
	checkFields(o, prefix, s, lvRoot, r)
	out := &Settings{
		Schema:          s,
		PollingInterval: DefaultPollingInterval,
		Identity:        Identity{Endpoint: DefaultIMDSEndpoint},
	}
	smsPath := field(prefix, "secretsManagementSettings")
	if v := o.vals["secretsManagementSettings"]; v == nil {
		r.add(smsPath, "is missing", `The settings must contain {"secretsManagementSettings": {"observedCertificates": [...]}}.`)
	} else if sms, ok := r.asObject(v, smsPath, "an object"); ok {
		parseSecretsManagement(sms, smsPath, s, out, r)
	}
	if v := o.vals["authenticationSettings"]; v != nil {
		p := field(prefix, "authenticationSettings")
		if auth, ok := r.asObject(v, p, "an object"); ok {
			out.Identity = parseIdentity(auth, p, s, r)
		}
	}
	if v := o.vals["loggingSettings"]; v != nil && s.Platform == Linux {
		p := field(prefix, "loggingSettings")
		if lo, ok := r.asObject(v, p, "an object"); ok {
			out.Logging = parseLogging(lo, p, s, r)
		}
	}
	out.InitialSync = InitialSyncPolicy{Wait: out.RequireInitialSync}
	if s.Version != "1.0" && s.Version != "2.0" {
		out.InitialSync.MaxAttempts = InitialSyncAttempts
	}
	return out
}

// parseSecretsManagement reads secretsManagementSettings into out.
func parseSecretsManagement(o *object, path string, s Schema, out *Settings, r *report) {
	checkFields(o, path, s, lvSMS, r)
	is40 := s == Schema{Windows, "4.0"}
	if v := o.vals["pollingIntervalInS"]; v != nil {
		p := field(path, "pollingIntervalInS")
		if n, ok := r.asSeconds(v, p); ok {
			out.PollingInterval = time.Duration(n) * time.Second
			if is40 && (n < 300 || n > 3600) {
				r.add(p, fmt.Sprintf("is %d seconds; 4.0 polls every 5 to 60 minutes", n),
					`Use a value from "300" to "3600" (the default is "3600"), or --compat 3.0 to keep another interval.`)
			}
		}
	}
	if !is40 {
		out.LinkOnRenewal = optBool(o, path, "linkOnRenewal", r)
		out.RequireInitialSync = optBool(o, path, "requireInitialSync", r)
	} else {
		out.LinkOnRenewal, out.RequireInitialSync = true, true
	}
	out.RemoveOnUninstall = optBool(o, path, "removeCertificatesOnUninstall", r)
	if v := o.vals["expiryWarningInS"]; v != nil {
		if n, ok := r.asSeconds(v, field(path, "expiryWarningInS")); ok {
			out.ExpiryWarning = time.Duration(n) * time.Second
		}
	}
	out.MetricsListen = metricsListen(o, path, r)
	d := certDefaults{reloadTimeout: DefaultReloadTimeout}
	if v := o.vals["activationDelayInS"]; v != nil {
		d.activationDelay, _ = r.activationDelay(v, field(path, "activationDelayInS"))
	}
	switch s.Platform {
	case Windows:
		d.storeName, d.storeLocation = DefaultStoreName, DefaultStoreLocation
		if s.Version == "1.0" {
			if v := o.vals["certificateStoreName"]; v != nil {
				d.storeName = windowsStoreName(v, field(path, "certificateStoreName"), r)
			}
			if v := o.vals["certificateStoreLocation"]; v != nil {
				d.storeLocation = windowsLocation(v, field(path, "certificateStoreLocation"), r)
			}
		}
	case Linux:
		d.storeLocation = DefaultLinuxStore
		if v := o.vals["certificateStoreLocation"]; v != nil {
			d.storeLocation = linuxDirectory(v, field(path, "certificateStoreLocation"), r)
		}
		if v := o.vals["certificateStoreName"]; v != nil {
			r.warn(field(path, "certificateStoreName"), "is ignored on Linux", "Linux has no named stores; certificateStoreLocation is the directory. Remove it to silence this warning.")
		}
		d.aclEnabled = optBool(o, path, "aclEnabled", r)
	}
	parseReload(o, path, &d.reloadCommand, &d.reloadTimeout, nil, r)
	if v := o.vals["observedSecrets"]; v != nil && s.Platform == Linux {
		out.Secrets = parseSecrets(v, field(path, "observedSecrets"), s, r)
	}
	p := field(path, "observedCertificates")
	v := o.vals["observedCertificates"]
	if list, _ := o.vals["observedSecrets"].([]any); v == nil && len(list) > 0 && s.Platform == Linux {
		return // secrets alone
	}
	if v == nil {
		r.add(p, "is missing", `List the secret URLs of the certificates to watch, such as "observedCertificates": ["https://myvault.vault.azure.net/secrets/mycert"].`)
		return
	}
	out.Certificates = parseCertificates(v, p, s, d, r)
}

// optBool reads an optional boolean field; absent means false.
func optBool(o *object, path, key string, r *report) bool {
	v := o.vals[key]
	if v == nil {
		return false
	}
	b, _ := r.asBool(v, field(path, key))
	return b
}
