// Package cloud lists the Azure clouds whose Key Vault hosts akvvm accepts.
package cloud

import "strings"

// Cloud is one Azure cloud as Key Vault sees it.
type Cloud struct {
	// Name is a short label, such as "AzurePublic".
	Name string
	// VaultSuffix is the DNS suffix of vaults, without a leading dot.
	VaultSuffix string
	// HSMSuffix is the DNS suffix of managed HSMs, without a leading dot.
	HSMSuffix string
	// Resource is the token audience Key Vault expects in this cloud.
	Resource string
	// Authority is the Microsoft Entra login host of this cloud.
	Authority string
}

// Scope returns the OAuth2 scope for the cloud's Key Vault resource.
func (c Cloud) Scope() string { return c.Resource + "/.default" }

// All lists the known clouds. Germany is retired but its vault suffix is
// still recognised so that old settings get a clear answer.
var All = []Cloud{
	{Name: "AzurePublic", VaultSuffix: "vault.azure.net", HSMSuffix: "managedhsm.azure.net", Resource: "https://vault.azure.net", Authority: "https://login.microsoftonline.com"},
	{Name: "AzureChina", VaultSuffix: "vault.azure.cn", HSMSuffix: "managedhsm.azure.cn", Resource: "https://vault.azure.cn", Authority: "https://login.chinacloudapi.cn"},
	{Name: "AzureUSGovernment", VaultSuffix: "vault.usgovcloudapi.net", HSMSuffix: "managedhsm.usgovcloudapi.net", Resource: "https://vault.usgovcloudapi.net", Authority: "https://login.microsoftonline.us"},
	{Name: "AzureGermany", VaultSuffix: "vault.microsoftazure.de", HSMSuffix: "managedhsm.microsoftazure.de", Resource: "https://vault.microsoftazure.de", Authority: "https://login.microsoftonline.de"},
}

// Public is the public Azure cloud.
var Public = All[0]

// ForHost returns the cloud whose vault or HSM suffix host ends with, and
// the first label of host (the vault name). ok is false for any other host.
func ForHost(host string) (c Cloud, vault string, ok bool) {
	host = strings.TrimSuffix(host, ".")
	h := strings.ToLower(host)
	if len(h) != len(host) {
		return Cloud{}, "", false // not ASCII, so not a Key Vault host
	}
	for _, c := range All {
		for _, suffix := range []string{c.VaultSuffix, c.HSMSuffix} {
			if name, found := strings.CutSuffix(h, "."+suffix); found && name != "" && !strings.Contains(name, ".") {
				return c, host[:len(name)], true
			}
		}
	}
	return Cloud{}, "", false
}

// ForResource returns the cloud whose Key Vault resource is r (a trailing
// slash is ignored).
func ForResource(r string) (Cloud, bool) {
	r = strings.TrimSuffix(strings.ToLower(r), "/")
	for _, c := range All {
		if c.Resource == r {
			return c, true
		}
	}
	return Cloud{}, false
}
