package cloud

import "testing"

func TestForHost(t *testing.T) {
	tests := []struct {
		host, cloud, vault string
		ok                 bool
	}{
		{"myvault.vault.azure.net", "AzurePublic", "myvault", true},
		{"exampleVault.vault.azure.net", "AzurePublic", "exampleVault", true},
		{"MyVault.VAULT.AZURE.NET.", "AzurePublic", "MyVault", true},
		{"cnvault.vault.azure.cn", "AzureChina", "cnvault", true},
		{"gov.vault.usgovcloudapi.net", "AzureUSGovernment", "gov", true},
		{"hsm1.managedhsm.azure.net", "AzurePublic", "hsm1", true},
		{"vault.azure.net", "", "", false},
		{"a.b.vault.azure.net", "", "", false},
		{"myvault.vault.azure.net.evil.com", "", "", false},
		{"localhost", "", "", false},
		{"\u0130\u0130\u0130.vault.azure.net", "", "", false}, // lower-casing changes the length
		{"k\u212a.vault.azure.net", "", "", false},
	}
	for _, tt := range tests {
		c, v, ok := ForHost(tt.host)
		if ok != tt.ok || c.Name != tt.cloud || v != tt.vault {
			t.Errorf("ForHost(%q) = %q, %q, %v; want %q, %q, %v", tt.host, c.Name, v, ok, tt.cloud, tt.vault, tt.ok)
		}
	}
}

func TestForResource(t *testing.T) {
	if c, ok := ForResource("https://vault.azure.cn/"); !ok || c.Name != "AzureChina" {
		t.Errorf("ForResource(china) = %v, %v", c.Name, ok)
	}
	if _, ok := ForResource("https://management.azure.com"); ok {
		t.Error("management resource accepted as a Key Vault resource")
	}
	if got := Public.Scope(); got != "https://vault.azure.net/.default" {
		t.Errorf("Scope() = %q", got)
	}
}
