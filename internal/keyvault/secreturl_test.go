package keyvault

import (
	"errors"
	"strings"
	"testing"
)

func TestParseSecretURLAccepts(t *testing.T) {
	tests := []struct {
		raw, host, vault, cloud, name, version, canonical string
	}{
		{"https://myvault.vault.azure.net/secrets/mycertificate", "myvault.vault.azure.net", "myvault", "AzurePublic", "mycertificate", "", "https://myvault.vault.azure.net/secrets/mycertificate"},
		{"https://myVaultName.vault.azure.net/secrets/myCertName", "myvaultname.vault.azure.net", "myVaultName", "AzurePublic", "myCertName", "", "https://myvaultname.vault.azure.net/secrets/myCertName"},
		{"https://myvault.vault.azure.cn/secrets/mycertificate1", "myvault.vault.azure.cn", "myvault", "AzureChina", "mycertificate1", "", "https://myvault.vault.azure.cn/secrets/mycertificate1"},
		{"https://gov-kv.vault.usgovcloudapi.net/secrets/web-tls/", "gov-kv.vault.usgovcloudapi.net", "gov-kv", "AzureUSGovernment", "web-tls", "", "https://gov-kv.vault.usgovcloudapi.net/secrets/web-tls"},
		{"https://myvault.vault.azure.net:443/secrets/c/08BE22F5F85A42809D2DF03CEF6908C4", "myvault.vault.azure.net", "myvault", "AzurePublic", "c", "08be22f5f85a42809d2df03cef6908c4", "https://myvault.vault.azure.net/secrets/c/08be22f5f85a42809d2df03cef6908c4"},
		{"HTTPS://MyVault.Vault.Azure.Net/Secrets/Cert", "myvault.vault.azure.net", "MyVault", "AzurePublic", "Cert", "", "https://myvault.vault.azure.net/secrets/Cert"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			u, err := ParseSecretURL(tt.raw)
			if err != nil {
				t.Fatalf("ParseSecretURL: %v", err)
			}
			if u.Raw != tt.raw || u.Host != tt.host || u.Vault != tt.vault || u.Cloud.Name != tt.cloud || u.Name != tt.name || u.Version != tt.version {
				t.Errorf("got %+v", u)
			}
			if u.String() != tt.canonical {
				t.Errorf("String() = %q, want %q", u.String(), tt.canonical)
			}
			if u.VaultURL() != "https://"+tt.host {
				t.Errorf("VaultURL() = %q", u.VaultURL())
			}
		})
	}
}

func TestParseSecretURLRejects(t *testing.T) {
	tests := []struct {
		raw        string
		reason     string // substring of Reason
		fix        string // substring of Fix
		notInError string // must not appear in the error text
	}{
		{"", "is empty", "https://myvault.vault.azure.net/secrets/mycert", ""},
		{" https://myvault.vault.azure.net/secrets/c ", "spaces", "Remove the spaces", ""},
		{"https://<examplekv>.vault.azure.net/secrets/certificate1", "placeholder", "Replace it", ""},
		{"myvault.vault.azure.net/secrets/c", "not an absolute URL", "https://", ""},
		{"http://myvault.vault.azure.net/secrets/c", "uses http", "Write https://myvault.vault.azure.net/secrets/c.", ""},
		{"https://user:hunter2@myvault.vault.azure.net/secrets/c", "user information", "managed identity", "hunter2"},
		{"https://myvault.vault.azure.net/secrets/c?sig=topsecret", "query", "/secrets/<name>/<version>", "topsecret"},
		{"https://myvault.vault.azure.net/secrets/c#x", "fragment", "Remove", ""},
		{"https://myvault.vault.azure.net:8443/secrets/c", "port 8443", "--connect-to", ""},
		{"https://localhost:8443/secrets/c", "not a Key Vault host", "--connect-to", ""},
		{"https://127.0.0.1/secrets/c", "not a Key Vault host", "--connect-to", ""},
		{"https://myvault.vault.azure.com/secrets/c", "not a Key Vault host of a known Azure cloud", "vault URI shown in the Azure portal", ""},
		{"https://a.b.vault.azure.net/secrets/c", "not a Key Vault host", "", ""},
		{"https://myhsm.managedhsm.azure.net/secrets/c", "Managed HSM", "*.vault.azure.net", ""},
		{"https://old.vault.microsoftazure.de/secrets/c", "Azure Germany", "current Azure cloud", ""},
		{"https://my_vault.vault.azure.net/secrets/c", "not a valid Key Vault name", "3-24", ""},
		{"https://myvault.vault.azure.net", "has no path", "https://myvault.vault.azure.net/secrets/<certificate name>", ""},
		{"https://myvault.vault.azure.net/certificates/mycert", "does not carry the private key", "write https://myvault.vault.azure.net/secrets/mycert.", ""},
		{"https://myvault.vault.azure.net/keys/mycert/0123456789abcdef0123456789abcdef", "/keys/", "https://myvault.vault.azure.net/secrets/mycert/0123456789abcdef0123456789abcdef", ""},
		{"https://myvault.vault.azure.net/deletedsecrets/c", "not a secret path", "/secrets/", ""},
		{"https://myvault.vault.azure.net/secrets/", "no secret name", "Append the certificate name", ""},
		{"https://myvault.vault.azure.net/secrets/c/versions", "extra segments", "pin a version", ""},
		{"https://myvault.vault.azure.net/secrets/c/0123456789abcdef0123456789abcdef/x", "extra segments", "", ""},
		{"https://myvault.vault.azure.net/secrets/my_cert", "not valid", "1-127", ""},
		{"https://myvault.vault.azure.net/secrets/" + strings.Repeat("a", 128), "not valid", "1-127", ""},
		{"https://myvault.vault.azure.net/secrets/c/latest", "not a Key Vault version", "32 hex digits", ""},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			_, err := ParseSecretURL(tt.raw)
			var ue *URLError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want *URLError", err)
			}
			if !strings.Contains(ue.Reason, tt.reason) {
				t.Errorf("Reason = %q, want it to contain %q", ue.Reason, tt.reason)
			}
			if !strings.Contains(ue.Fix, tt.fix) {
				t.Errorf("Fix = %q, want it to contain %q", ue.Fix, tt.fix)
			}
			if tt.notInError != "" && strings.Contains(err.Error(), tt.notInError) {
				t.Errorf("error %q repeats %q", err, tt.notInError)
			}
		})
	}
}

func FuzzParseSecretURL(f *testing.F) {
	for _, s := range []string{
		"https://myvault.vault.azure.net/secrets/mycertificate",
		"https://myvault.vault.azure.cn:443/secrets/c/0123456789abcdef0123456789abcdef/",
		"https://myvault.vault.azure.net/certificates/c",
		"http://x@y.vault.azure.net/secrets/a?b#c",
		"https://%zz",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := ParseSecretURL(raw)
		if err != nil {
			var ue *URLError
			if !errors.As(err, &ue) || ue.Reason == "" || ue.Fix == "" {
				t.Fatalf("error %v is not a complete *URLError", err)
			}
			return
		}
		again, err := ParseSecretURL(u.String())
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", u.String(), raw, err)
		}
		if again.Host != u.Host || again.Name != u.Name || again.Version != u.Version || again.Cloud != u.Cloud {
			t.Fatalf("round trip of %q changed %+v to %+v", raw, u, again)
		}
	})
}
