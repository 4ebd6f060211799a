package config

import (
	"fmt"
	"slices"
	"strings"
)

// level is one kind of JSON object in the settings.
type level int

const (
	lvRoot    level = iota // the settings object
	lvSMS                  // secretsManagementSettings
	lvAuth                 // authenticationSettings
	lvCert                 // an observedCertificates entry
	lvACL                  // an acls entry
	lvLogging              // loggingSettings
	lvOutputs              // an observedCertificates entry's outputs
	lvPFX                  // outputs.pfx
	lvSecret               // an observedSecrets entry
	levelCount
)

// where says where fields of a level belong, for messages.
func (lv level) where() string {
	return [...]string{
		"the top level of the settings, next to secretsManagementSettings",
		"secretsManagementSettings",
		"authenticationSettings",
		"each entry of observedCertificates",
		"each entry of acls",
		"loggingSettings",
		"the outputs object of an observedCertificates entry",
		"outputs.pfx",
		"each entry of observedSecrets",
	}[lv]
}

// knownFields lists the fields schema s allows at level lv.
func knownFields(s Schema, lv level) []string {
	var f []string
	switch lv {
	case lvRoot:
		f = []string{"secretsManagementSettings", "authenticationSettings"}
		if s.Platform == Linux {
			f = append(f, "loggingSettings")
		}
	case lvAuth:
		f = []string{"msiEndpoint", "msiClientId", "msiObjectId"}
	case lvSMS:
		f = []string{"pollingIntervalInS", "observedCertificates"}
		switch {
		case s == Schema{Windows, "1.0"}:
			f = append(f, "certificateStoreName", "certificateStoreLocation", "linkOnRenewal", "requireInitialSync")
		case s == Schema{Windows, "3.0"}:
			f = append(f, "linkOnRenewal", "requireInitialSync")
		case s == Schema{Linux, "2.0"}:
			f = append(f, "certificateStoreName", "certificateStoreLocation", "linkOnRenewal", "requireInitialSync")
		case s == Schema{Linux, "3.0"}:
			f = append(f, "certificateStoreName", "certificateStoreLocation", "linkOnRenewal", "requireInitialSync", "aclEnabled")
		}
		f = append(f, "reloadCommand", "reloadTimeoutInS", "removeCertificatesOnUninstall", "expiryWarningInS", "metricsListen", "activationDelayInS") // akvvm extension, every schema
		if s.Platform == Linux {
			f = append(f, "observedSecrets") // akvvm extension
		}
	case lvCert:
		switch {
		case s == Schema{Windows, "3.0"}:
			f = []string{"url", "certificateStoreName", "certificateStoreLocation", "accounts", "keyExportable"}
		case s == Schema{Windows, "4.0"}:
			f = []string{"url", "certificateStoreName", "certificateStoreLocation", "accounts"}
		case s == Schema{Linux, "3.0"}:
			f = []string{"url", "certificateStoreName", "certificateStoreLocation", "customSymbolicLinkName", "acls",
				"outputs", "relativeLinks"} // outputs and relativeLinks: akvvm extension
		default:
			return nil // certificates are URL strings
		}
		f = append(f, "reloadCommand", "reloadTimeoutInS", "activationDelayInS") // akvvm extension, every schema
	case lvACL:
		if s.Platform == Linux {
			f = []string{"user", "group"}
		}
	case lvLogging:
		if s.Platform == Linux {
			f = []string{"logger", "endpoint", "format", "servicename"}
		}
	case lvOutputs:
		if s == (Schema{Linux, "3.0"}) {
			f = []string{"cert", "chain", "fullChain", "key", "pfx"}
		}
	case lvPFX:
		if s == (Schema{Linux, "3.0"}) {
			f = []string{"passwordFile"}
		}
	case lvSecret:
		if s.Platform == Linux {
			f = []string{"url", "path", "mode", "owner", "group", "reloadCommand", "reloadTimeoutInS"}
		}
	}
	return f
}

// removedIn40 says what 4.0 does instead of a field it removed.
func removedIn40(key string) (string, bool) {
	switch key {
	case "linkOnRenewal":
		return "4.0 always links a renewed certificate to the previous one (CERT_RENEWAL), so bindings such as IIS follow it", true
	case "requireInitialSync":
		return "4.0 always reports success only once every certificate is installed, retrying up to 25 times", true
	case "keyExportable":
		return "4.0 never marks private keys exportable", true
	}
	return "", false
}

// checkFields reports duplicate keys and every key schema s does not allow
// at level lv, with the most useful explanation it can find.
func checkFields(o *object, path string, s Schema, lv level, r *report) {
	for _, k := range o.dups {
		r.add(field(path, k), "appears more than once; only the last value would be used", "Keep one of them.")
	}
	known := knownFields(s, lv)
	for _, k := range o.keys {
		if !slices.Contains(known, k) {
			msg, hint := explainUnknown(k, s, lv, known)
			r.add(field(path, k), msg, hint)
		}
	}
}

func explainUnknown(key string, s Schema, lv level, known []string) (msg, hint string) {
	for _, k := range known {
		if strings.EqualFold(k, key) {
			return fmt.Sprintf("field %q is not known: field names are case-sensitive", key), fmt.Sprintf("Write %q.", k)
		}
	}
	if lv == lvPFX && strings.EqualFold(key, "password") {
		return fmt.Sprintf("%q is not accepted: akvvm never takes the PFX password from the settings, which the guest agent, Azure and the VM's logs keep readable", key),
			`Put the password alone in a file that only root may read (chmod 600) and name it: "passwordFile": "/etc/akvvm/pfx.pass".`
	}
	if s.Platform == Windows && (key == "outputs" || key == "relativeLinks") {
		return fmt.Sprintf("%q is an akvvm option of Linux stores only: on Windows the certificate and its key go into the certificate store, where applications read them", key),
			"Remove it; applications that need files on Windows export them from the store (Export-PfxCertificate)."
	}
	if lv == lvSMS && s.Platform == Windows && key == "observedSecrets" {
		return fmt.Sprintf("%q is an akvvm option of Linux only: akvvm writes plain secrets to files on Linux, not on Windows", key),
			"Remove it; on Windows let the application read the secret from Key Vault itself, or deliver it as a certificate in observedCertificates."
	}
	if lv == lvSMS && s.Platform == Windows && (key == "certificateStoreName" || key == "certificateStoreLocation") {
		return fmt.Sprintf("%q is not a secretsManagementSettings field in %s", key, s),
			"In 3.0 and 4.0 every certificate names its own store: move it into each observedCertificates entry (or use --compat 1.0 for the flat 1.0 schema)."
	}
	for other := lvRoot; other < levelCount; other++ {
		if other != lv && slices.Contains(knownFields(s, other), key) {
			msg = fmt.Sprintf("%q does not belong in %s", key, lv.where())
			hint = fmt.Sprintf("Move it to %s.", other.where())
			if key == "authenticationSettings" {
				hint += " Nested anywhere else it is not used at all (the Linux extension fails with \"Attempt to get non-existent AuthConfig\")."
			}
			return msg, hint
		}
	}
	if why, ok := removedIn40(key); ok && s == (Schema{Windows, "4.0"}) {
		return fmt.Sprintf("%q was removed in 4.0: %s", key, why),
			"Remove it, or validate and run with --compat 3.0 to keep the 3.0 behaviour."
	}
	var samePlatform, otherPlatform []string
	for _, o := range Schemas() {
		for other := lvRoot; other < levelCount; other++ {
			if o != s && slices.Contains(knownFields(o, other), key) {
				if o.Platform == s.Platform {
					samePlatform = appendOnce(samePlatform, o.Version)
				} else {
					otherPlatform = appendOnce(otherPlatform, o.Version)
				}
			}
		}
	}
	switch {
	case len(samePlatform) > 0:
		return fmt.Sprintf("%q is not part of the %s schema", key, s),
			fmt.Sprintf("It belongs to the %s schema: remove it, or validate with --compat %s if the settings are written for that version.", strings.Join(samePlatform, " / "), samePlatform[len(samePlatform)-1])
	case len(otherPlatform) > 0 && s.Platform == Windows:
		hint := "Remove it, or validate with --platform linux if these settings are for Linux."
		if key == "acls" || key == "aclEnabled" {
			hint = "On Windows grant private-key access with accounts; r" + hint[1:]
		}
		return fmt.Sprintf("%q is a KeyVaultForLinux setting", key), hint
	case len(otherPlatform) > 0:
		hint := "Remove it, or validate with --platform windows if these settings are for Windows."
		if key == "accounts" {
			hint = "On Linux grant read access with acls and aclEnabled; r" + hint[1:]
		}
		return fmt.Sprintf("%q is a KeyVaultForWindows setting", key), hint
	}
	if best := closest(key, known); best != "" {
		return fmt.Sprintf("unknown field %q", key), fmt.Sprintf("Did you mean %q?", best)
	}
	if len(known) == 0 {
		return fmt.Sprintf("unknown field %q", key), "Remove it."
	}
	return fmt.Sprintf("unknown field %q", key), "Fields allowed here: " + strings.Join(known, ", ") + "."
}

func appendOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// closest returns the known name nearest to key, or "" when none is close.
func closest(key string, known []string) string {
	best, bestDist := "", -1
	for _, k := range known {
		lk, lkey := strings.ToLower(k), strings.ToLower(key)
		d := editDistance(lkey, lk)
		if len(lkey) >= 8 && (strings.HasPrefix(lk, lkey) || strings.HasPrefix(lkey, lk)) {
			d = min(d, 2) // a shortened or lengthened name, such as pollingIntervalInSeconds
		}
		if (d <= 2 || d*4 <= len(k)) && (bestDist < 0 || d < bestDist) {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
