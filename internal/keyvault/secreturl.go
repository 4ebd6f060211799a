// Package keyvault reads certificates from Azure Key Vault.
package keyvault

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/akvvm/akvvm/internal/cloud"
)

// SecretURL is a parsed observed-certificate URL:
// https://<vault>.<vault suffix>/secrets/<name>[/<version>].
type SecretURL struct {
	// Raw is the URL as written in the settings.
	Raw string
	// Host is the vault host in lower case, without a port.
	Host string
	// Vault is the first label of the host, as written.
	Vault string
	// Cloud is the Azure cloud the host belongs to.
	Cloud cloud.Cloud
	// Name is the secret name.
	Name string
	// Version pins one secret version (32 lower-case hex digits); empty means the latest.
	Version string
}

// VaultURL returns the vault's base URL, such as https://myvault.vault.azure.net.
func (u SecretURL) VaultURL() string { return "https://" + u.Host }

// String returns the canonical form of the URL.
func (u SecretURL) String() string {
	s := u.VaultURL() + "/secrets/" + u.Name
	if u.Version != "" {
		s += "/" + u.Version
	}
	return s
}

// URLError says what is wrong with a secret URL and how to fix it.
type URLError struct {
	// URL is the offending URL with any user information and query removed.
	URL string
	// Reason says what is wrong, without a trailing period.
	Reason string
	// Fix says how to correct it, as one or more sentences.
	Fix string
}

// Error renders the URL, the reason and the fix.
func (e *URLError) Error() string {
	return fmt.Sprintf("secret URL %q: %s. %s", e.URL, e.Reason, e.Fix)
}

// Limits Key Vault documents for secret names and versions.
var (
	secretNamePattern = regexp.MustCompile(`^[0-9a-zA-Z-]{1,127}$`)
	versionPattern    = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)
	vaultNamePattern  = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$`)
)

// routingHint tells users how to reach the emulator or a test server.
const routingHint = `Keep the real vault URL in the settings; to reach the akvvm emulator or another test server, route the vault host with the --connect-to option (for example --connect-to "*.vault.azure.net=127.0.0.1:8443")`

// ParseSecretURL parses and checks an observed-certificate URL. Every
// error is a *URLError.
func ParseSecretURL(raw string) (SecretURL, error) {
	fail := func(reason, fix string) (SecretURL, error) {
		return SecretURL{}, &URLError{URL: redact(raw), Reason: reason, Fix: fix}
	}
	switch {
	case raw == "":
		return fail("is empty", "Write the secret URL of the certificate, such as https://myvault.vault.azure.net/secrets/mycert.")
	case strings.TrimSpace(raw) != raw:
		return fail("has spaces before or after it", "Remove the spaces inside the quotes.")
	case strings.ContainsAny(raw, "<>"):
		return fail("contains a placeholder in angle brackets copied from the documentation", "Replace it with your vault and certificate names, such as https://myvault.vault.azure.net/secrets/mycert.")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fail("is not a valid URL", "Write it as https://<vault>.vault.azure.net/secrets/<certificate name>.")
	}
	if u.Scheme == "" || u.Host == "" {
		return fail("is not an absolute URL", "Write it with the scheme and host, such as https://myvault.vault.azure.net/secrets/mycert.")
	}
	if !strings.EqualFold(u.Scheme, "https") {
		fixed := *u
		fixed.Scheme = "https"
		fixed.User, fixed.RawQuery, fixed.Fragment = nil, "", ""
		return fail(fmt.Sprintf("uses %s; Key Vault is reached only over https", u.Scheme),
			fmt.Sprintf("Write %s.", fixed.String()))
	}
	if u.User != nil {
		return fail("contains user information before the host", "Remove it: akvvm authenticates with the machine's managed identity, never with credentials in the URL.")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return fail("has a query or fragment", "Remove everything from the ? or # on; to pin a version, append it to the path: /secrets/<name>/<version>.")
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	c, vault, ok := cloud.ForHost(u.Hostname())
	if !ok {
		return fail("host "+host+" is not a Key Vault host of a known Azure cloud (*.vault.azure.net, *.vault.azure.cn, *.vault.usgovcloudapi.net)",
			"Use the vault URI shown in the Azure portal. "+routingHint+".")
	}
	if strings.HasSuffix(host, "."+c.HSMSuffix) {
		return fail("host "+host+" is a Managed HSM, which holds keys but no secrets or certificates",
			"Store the certificate in a key vault (*."+c.VaultSuffix+") and use its /secrets/ URL.")
	}
	if c.Name == "AzureGermany" {
		return fail("host "+host+" belongs to Azure Germany, which was retired in 2021",
			"Move the certificate to a vault in a current Azure cloud and use that vault's URL.")
	}
	if p := u.Port(); p != "" && p != "443" {
		return fail("uses port "+p+"; Key Vault listens only on 443", routingHint+".")
	}
	if !vaultNamePattern.MatchString(vault) || strings.Contains(vault, "--") {
		return fail("vault name "+vault+" is not a valid Key Vault name",
			"A vault name has 3-24 letters, digits and single hyphens, starts with a letter and ends with a letter or digit; copy it from the portal.")
	}
	out := SecretURL{Raw: raw, Host: host, Vault: vault, Cloud: c}
	return parseSecretPath(out, u.Path, fail)
}

// parseSecretPath checks /secrets/<name>[/<version>] and fills in name and version.
func parseSecretPath(out SecretURL, p string, fail func(reason, fix string) (SecretURL, error)) (SecretURL, error) {
	want := "https://" + out.Host + "/secrets/<certificate name>"
	trimmed := strings.TrimSuffix(strings.TrimPrefix(p, "/"), "/")
	if trimmed == "" {
		return fail("has no path", "Append /secrets/ and the certificate name: "+want+".")
	}
	seg := strings.Split(trimmed, "/")
	switch strings.ToLower(seg[0]) {
	case "secrets":
	case "certificates", "keys":
		fixed := "https://" + out.Host + "/secrets/" + strings.Join(seg[1:], "/")
		return fail("points at /"+seg[0]+"/, which does not carry the private key",
			"Only the /secrets/ URL returns the whole certificate with its private key; write "+fixed+".")
	default:
		return fail("path /"+trimmed+" is not a secret path", "Write it as "+want+"[/<version>].")
	}
	if len(seg) == 1 {
		return fail("has no secret name after /secrets/", "Append the certificate name: "+want+".")
	}
	if len(seg) > 3 || (len(seg) == 3 && strings.EqualFold(seg[2], "versions")) {
		return fail("path has extra segments", "Write "+want+", or "+want+"/<32-hex version> to pin a version.")
	}
	out.Name = seg[1]
	if !secretNamePattern.MatchString(out.Name) {
		return fail(fmt.Sprintf("secret name %q is not valid", out.Name),
			"Secret names are 1-127 letters, digits and hyphens; copy the name from the portal.")
	}
	if len(seg) == 3 {
		if !versionPattern.MatchString(seg[2]) {
			return fail(fmt.Sprintf("version %q is not a Key Vault version", seg[2]),
				"A version is 32 hex digits as shown in the portal; remove it to follow the latest version.")
		}
		out.Version = strings.ToLower(seg[2])
	}
	return out, nil
}

// redact drops user information, query and fragment so an error never
// repeats a credential that was pasted into a URL.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.IndexAny(raw, "?#@"); i >= 0 {
			return raw[:i] + "…"
		}
		return raw
	}
	if u.User == nil && u.RawQuery == "" && u.Fragment == "" {
		return raw
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment = nil, "", false, ""
	return u.String() + "…"
}
