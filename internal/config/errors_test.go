package config

import (
	"errors"
	"strings"
	"testing"
)

// sms wraps a secretsManagementSettings body into a settings object.
func sms(body string) string { return `{"secretsManagementSettings": {` + body + `}}` }

const oneCert10 = `"observedCertificates": ["https://myvault.vault.azure.net/secrets/c"]`
const oneCert40 = `"observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/c"}]`

func parseErrors(t *testing.T, s Schema, text string) Errors {
	t.Helper()
	got, err := Parse([]byte(text), Options{Schema: s})
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse = %+v, %v; want Errors", got, err)
	}
	return errs
}

// TestParseRejects checks that each common mistake is reported with the
// JSON path, what is wrong and how to fix it.
func TestParseRejects(t *testing.T) {
	tests := []struct {
		name   string
		schema Schema
		text   string
		want   []string // each rendered problem, in order: substrings separated by " … "
	}{
		{"certificates URL", win10, sms(`"observedCertificates": ["https://myvault.vault.azure.net/certificates/mycert"]`),
			[]string{`secretsManagementSettings.observedCertificates[0]: "https://myvault.vault.azure.net/certificates/mycert" points at /certificates/, which does not carry the private key. Only the /secrets/ URL returns the whole certificate with its private key; write https://myvault.vault.azure.net/secrets/mycert.`}},
		{"http URL", win40, sms(`"observedCertificates": [{"url": "http://myvault.vault.azure.net/secrets/c"}]`),
			[]string{`observedCertificates[0].url: "http://myvault.vault.azure.net/secrets/c" uses http; Key Vault is reached only over https. Write https://myvault.vault.azure.net/secrets/c.`}},
		{"foreign host", win30, sms(`"observedCertificates": [{"url": "https://myvault.example.com/secrets/c"}]`),
			[]string{`observedCertificates[0].url: "https://myvault.example.com/secrets/c" host myvault.example.com is not a Key Vault host of a known Azure cloud … --connect-to "*.vault.azure.net=127.0.0.1:8443"`}},
		{"emulator address", win40, sms(`"observedCertificates": [{"url": "https://127.0.0.1:8443/secrets/c"}]`),
			[]string{`observedCertificates[0].url: "https://127.0.0.1:8443/secrets/c" host 127.0.0.1 is not a Key Vault host … --connect-to`}},
		{"managed HSM", win40, sms(`"observedCertificates": [{"url": "https://h.managedhsm.azure.net/secrets/c"}]`),
			[]string{"is a Managed HSM"}},
		{"location case", win30, sms(`"observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/c", "certificateStoreLocation": "localMachine"}]`),
			[]string{`secretsManagementSettings.observedCertificates[0].certificateStoreLocation: "localMachine" is not a store location: the value is case-sensitive. Write "LocalMachine".`}},
		{"location with store", win40, sms(`"observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/c", "certificateStoreLocation": "LocalMachine\\My"}]`),
			[]string{`combines a location and a store name. Write "LocalMachine" here and put the store name (such as "My") in certificateStoreName.`}},
		{"store display name", win40, sms(`"observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/c", "certificateStoreName": "Personal"}]`),
			[]string{`certificateStoreName: "Personal" is the name certlm.msc displays, not the store's system name. Write "MY".`}},
		{"client id without endpoint", win40, sms(oneCert40)[:len(sms(oneCert40))-1] + `, "authenticationSettings": {"msiClientId": "00001111-aaaa-2222-bbbb-3333cccc4444"}}`,
			[]string{`authenticationSettings.msiEndpoint: is missing; it is required when msiClientId is given. Add "msiEndpoint": "http://169.254.169.254/metadata/identity/oauth2/token"`}},
		{"endpoint without host", win10, `{"secretsManagementSettings": {` + oneCert10 + `}, "authenticationSettings": {"msiEndpoint": "http:///169.254.169.254/metadata/identity"}}`,
			[]string{`authenticationSettings.msiEndpoint: "http:///169.254.169.254/metadata/identity" has no host. Remove the extra slash: write http://169.254.169.254/metadata/identity.`}},
		{"ARM expression client id", win30, `{"secretsManagementSettings": {` + oneCert40 + `}, "authenticationSettings": {"msiEndpoint": "[parameters('userAssignedIdentityEndpoint')]", "msiClientId": "[reference(parameters('userAssignedIdentityResourceId'), variables('msiApiVersion')).clientId]"}}`,
			[]string{`authenticationSettings.msiEndpoint: "[parameters('userAssignedIdentityEndpoint')]" is an ARM template expression, not a value. ARM evaluates it at deployment`,
				`authenticationSettings.msiClientId: "[reference(`}},
		{"client id typo from the 3.0 table", win30, `{"secretsManagementSettings": {` + oneCert40 + `}, "authenticationSettings": {"msiEndpoint": "http://169.254.169.254/metadata/identity/oauth2/token", "msiClientId": "00001111-aaaa-2222-bbbb-3333cccc44444"}}`,
			[]string{`authenticationSettings.msiClientId: "00001111-aaaa-2222-bbbb-3333cccc44444" is not a client id. Copy the Client ID`}},
		{"linkOnRenewal in 4.0", win40, sms(`"linkOnRenewal": true, ` + oneCert40),
			[]string{`secretsManagementSettings.linkOnRenewal: "linkOnRenewal" was removed in 4.0: 4.0 always links a renewed certificate to the previous one (CERT_RENEWAL), so bindings such as IIS follow it. Remove it, or validate and run with --compat 3.0 to keep the 3.0 behaviour.`}},
		{"requireInitialSync in 4.0", win40, sms(`"requireInitialSync": "true", ` + oneCert40),
			[]string{`secretsManagementSettings.requireInitialSync: "requireInitialSync" was removed in 4.0: 4.0 always reports success only once every certificate is installed … --compat 3.0`}},
		{"keyExportable in 4.0", win40, sms(`"observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/c", "keyExportable": false}]`),
			[]string{`secretsManagementSettings.observedCertificates[0].keyExportable: "keyExportable" was removed in 4.0: 4.0 never marks private keys exportable`}},
		{"interval below 4.0 range", win40, sms(`"pollingIntervalInS": "60", ` + oneCert40),
			[]string{`secretsManagementSettings.pollingIntervalInS: is 60 seconds; 4.0 polls every 5 to 60 minutes. Use a value from "300" to "3600"`}},
		{"interval above 4.0 range", win40, sms(`"pollingIntervalInS": 86400, ` + oneCert40),
			[]string{`is 86400 seconds; 4.0 polls every 5 to 60 minutes`}},
		{"pinned version in 4.0", win40, sms(`"observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/c/0123456789abcdef0123456789abcdef"}]`),
			[]string{`observedCertificates[0].url: pins version 0123456789abcdef0123456789abcdef, but 4.0 cannot pin a version: it always installs the newest ones. Write https://myvault.vault.azure.net/secrets/c to follow the latest version, or validate and run with --compat 3.0`}},
		{"authenticationSettings inside secretsManagementSettings", win30, sms(oneCert40 + `, "authenticationSettings": {"msiEndpoint": "http://169.254.169.254/metadata/identity"}`),
			[]string{`secretsManagementSettings.authenticationSettings: "authenticationSettings" does not belong in secretsManagementSettings. Move it to the top level of the settings, next to secretsManagementSettings.`}},
		{"msiEndpoint at the top level", win40, `{"msiEndpoint": "http://169.254.169.254/metadata/identity", "secretsManagementSettings": {` + oneCert40 + `}}`,
			[]string{`msiEndpoint: "msiEndpoint" does not belong in the top level of the settings, next to secretsManagementSettings. Move it to authenticationSettings.`}},
		{"singular observedCertificate", win10, sms(`"observedCertificate": ["https://myvault.vault.azure.net/secrets/c"]`),
			[]string{`secretsManagementSettings.observedCertificate: unknown field "observedCertificate". Did you mean "observedCertificates"?`,
				`secretsManagementSettings.observedCertificates: is missing.`}},
		{"field name case", win10, sms(`"PollingIntervalInS": "3600", ` + oneCert10),
			[]string{`secretsManagementSettings.PollingIntervalInS: field "PollingIntervalInS" is not known: field names are case-sensitive. Write "pollingIntervalInS".`}},
		{"unknown field", win40, sms(oneCert40 + `, "frobnicate": 1`),
			[]string{`secretsManagementSettings.frobnicate: unknown field "frobnicate". Fields allowed here: pollingIntervalInS, observedCertificates, reloadCommand, reloadTimeoutInS, removeCertificatesOnUninstall, expiryWarningInS, metricsListen, activationDelayInS.`}},
		{"removeCertificatesOnUninstall in a certificate", lin30, sms(`"observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/c", "removeCertificatesOnUninstall": true}]`),
			[]string{`observedCertificates[0].removeCertificatesOnUninstall: "removeCertificatesOnUninstall" does not belong in each entry of observedCertificates. Move it to secretsManagementSettings.`}},
		{"1.0 store fields in 3.0", win30, sms(`"certificateStoreName": "MY", ` + oneCert40),
			[]string{`secretsManagementSettings.certificateStoreName: "certificateStoreName" is not a secretsManagementSettings field in KeyVaultForWindows 3.0. In 3.0 and 4.0 every certificate names its own store: move it into each observedCertificates entry`}},
		{"1.0 settings read as 4.0", win40, sms(`"pollingIntervalInS": "3600", "certificateStoreName": "MY", "certificateStoreLocation": "LocalMachine", ` + oneCert10),
			[]string{`secretsManagementSettings.certificateStoreName: "certificateStoreName" is not a secretsManagementSettings field in KeyVaultForWindows 4.0`,
				`secretsManagementSettings.certificateStoreLocation:`,
				`secretsManagementSettings.observedCertificates[0]: is a URL string, but KeyVaultForWindows 4.0 lists certificates as objects. Write {"url": "https://myvault.vault.azure.net/secrets/c"} (the store defaults to MY in LocalMachine), or validate with --compat 1.0`}},
		{"objects in 1.0", win10, sms(oneCert40),
			[]string{`secretsManagementSettings.observedCertificates[0]: must be a secret URL string, but is an object. KeyVaultForWindows 1.0 lists certificates as URL strings: write the url value alone, or validate with --compat 3.0`}},
		{"keyExportable in 1.0", win10, sms(`"keyExportable": true, ` + oneCert10),
			[]string{`secretsManagementSettings.keyExportable: "keyExportable" is not part of the KeyVaultForWindows 1.0 schema. It belongs to the 3.0 schema: remove it, or validate with --compat 3.0`}},
		{"single URL instead of a list", win10, sms(`"observedCertificates": "https://myvault.vault.azure.net/secrets/mycertificate"`),
			[]string{`secretsManagementSettings.observedCertificates: must be a list, but is the string "https://myvault.vault.azure.net/secrets/mycertificate". Put the URL in brackets: ["https://myvault.vault.azure.net/secrets/mycertificate"].`}},
		{"empty list", win40, sms(`"observedCertificates": []`),
			[]string{`secretsManagementSettings.observedCertificates: is empty, so nothing would be watched.`}},
		{"missing url", win40, sms(`"observedCertificates": [{"certificateStoreName": "MY"}]`),
			[]string{`secretsManagementSettings.observedCertificates[0].url: is missing. Add "url":`}},
		{"duplicate certificate", win40, sms(`"observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/c"}, {"url": "https://MyVault.vault.azure.net/secrets/c/", "certificateStoreName": "my"}]`),
			[]string{`secretsManagementSettings.observedCertificates[1]: watches the same certificate, installed at the same place, as secretsManagementSettings.observedCertificates[0]. Remove one of the two entries.`}},
		{"interval overflowing a duration", win10, sms(`"pollingIntervalInS": "10000000000", ` + oneCert10),
			[]string{`secretsManagementSettings.pollingIntervalInS: is 10000000000 seconds, more than akvvm can wait`}},
		{"interval with unit", win10, sms(`"pollingIntervalInS": "1h", ` + oneCert10),
			[]string{`secretsManagementSettings.pollingIntervalInS: must be a positive whole number of seconds, but is the string "1h". Write the seconds as a string, such as "3600".`}},
		{"boolean as word", win30, sms(`"linkOnRenewal": "yes", ` + oneCert40),
			[]string{`secretsManagementSettings.linkOnRenewal: must be true or false, but is the string "yes". Write true or false.`}},
		{"duplicate key", win40, sms(oneCert40 + `, ` + oneCert40),
			[]string{`secretsManagementSettings.observedCertificates: appears more than once; only the last value would be used. Keep one of them.`}},
		{"missing secretsManagementSettings", win40, `{"authenticationSettings": {}}`,
			[]string{`secretsManagementSettings: is missing. The settings must contain {"secretsManagementSettings": {"observedCertificates": [...]}}.`}},
		{"certificates at the top level", win40, `{"observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/c"}]}`,
			[]string{`observedCertificates: "observedCertificates" does not belong in the top level of the settings, next to secretsManagementSettings. Move it to secretsManagementSettings.`, `secretsManagementSettings: is missing.`}},
		{"not an object", win40, `[{"secretsManagementSettings": {}}]`,
			[]string{`must be the settings object, but is an array. Write one object in braces {...}, not a list.`}},
		{"empty", win40, " \n", []string{"the settings are empty"}},
		{"ARM resource of another version", win40, `{"properties": {"type": "KeyVaultForWindows", "typeHandlerVersion": "1.0", "settings": {"secretsManagementSettings": {` + oneCert40 + `}}}}`,
			[]string{`properties.typeHandlerVersion: the extension version is 1.0, but the settings are being read with the KeyVaultForWindows 4.0 schema. Validate with --compat 1.0`}},
		{"Linux resource read as Windows", win40, `{"properties": {"type": "KeyVaultForLinux", "typeHandlerVersion": "3.0", "settings": {"secretsManagementSettings": {` + oneCert40 + `}}}}`,
			[]string{`properties.type: the extension is KeyVaultForLinux, but the settings are being read as KeyVaultForWindows 4.0. Validate with --platform linux --compat 3.0.`}},
		{"Windows 4.0 resource read as Linux", lin30, `{"typePropertiesType": "KeyVaultForWindows", "typeHandlerVersion": "4.0", "settings": {"secretsManagementSettings": {` + oneCert40 + `}}}`,
			[]string{`typePropertiesType: the extension is KeyVaultForWindows, but the settings are being read as KeyVaultForLinux 3.0. Validate with --platform windows --compat 4.0.`}},
		{"Linux resource of an unknown version read as Windows", win40, `{"properties": {"type": "KeyVaultForLinux", "typeHandlerVersion": "1.0", "settings": {"secretsManagementSettings": {` + oneCert40 + `}}}}`,
			[]string{`properties.type: the extension is KeyVaultForLinux, but the settings are being read as KeyVaultForWindows 4.0. Validate with --platform linux; its versions are 2.0 or 3.0, not 1.0.`}},
		{"acls without aclEnabled", lin30, sms(`"observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/c", "acls": [{"user": "app1"}]}]`),
			[]string{`secretsManagementSettings.observedCertificates[0].acls: would be ignored because secretsManagementSettings.aclEnabled is not true. Add "aclEnabled": true to secretsManagementSettings, or remove acls.`}},
		{"empty acl", lin30, sms(`"aclEnabled": true, "observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/c", "acls": [{"users": "app1"}]}]`),
			[]string{`acls[0].users: unknown field "users". Did you mean "user"?`, `acls[0]: names neither a user nor a group.`}},
		{"accounts on Linux", lin30, sms(`"observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/c", "accounts": ["Network Service"]}]`),
			[]string{`observedCertificates[0].accounts: "accounts" is a KeyVaultForWindows setting. On Linux grant read access with acls and aclEnabled`}},
		{"aclEnabled on Windows", win30, sms(`"aclEnabled": true, ` + oneCert40),
			[]string{`secretsManagementSettings.aclEnabled: "aclEnabled" is a KeyVaultForLinux setting. On Windows grant private-key access with accounts`}},
		{"aclEnabled in Linux 2.0", lin20, sms(`"aclEnabled": true, ` + oneCert10),
			[]string{`"aclEnabled" is not part of the KeyVaultForLinux 2.0 schema. It belongs to the 3.0 schema: remove it, or validate with --compat 3.0`}},
		{"Windows location on Linux", lin20, sms(`"certificateStoreLocation": "LocalMachine", ` + oneCert10),
			[]string{`secretsManagementSettings.certificateStoreLocation: "LocalMachine" is a Windows store location, but on Linux certificateStoreLocation is a directory. Remove it to use /var/lib/waagent/Microsoft.Azure.KeyVault.Store`}},
		{"relative directory", lin30, sms(`"observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/c", "certificateStoreLocation": "certs"}]`),
			[]string{`certificateStoreLocation: "certs" is relative, not an absolute directory.`}},
		{"link name with slash", lin30, sms(`"observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/c", "customSymbolicLinkName": "a/b"}]`),
			[]string{`customSymbolicLinkName: "a/b" is not a plain file name: it contains /.`}},
		{"reload command as a string", win40, sms(`"observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/c", "reloadCommand": "iisreset"}]`),
			[]string{`observedCertificates[0].reloadCommand: must be a list of strings (the program and its arguments), but is the string "iisreset". Write the program and each argument as a separate string`}},
		{"reload timeout alone", lin30, sms(`"observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/c", "reloadTimeoutInS": 10}]`),
			[]string{`observedCertificates[0].reloadTimeoutInS: has no effect without reloadCommand.`}},
		{"loggingSettings on Windows", win40, `{"loggingSettings": {}, "secretsManagementSettings": {` + oneCert40 + `}}`,
			[]string{`loggingSettings: "loggingSettings" is a KeyVaultForLinux setting.`}},
		{"placeholder URL", win40, sms(`"observedCertificates": [{"url": "https://<examplekv>.vault.azure.net/secrets/certificate1"}]`),
			[]string{`contains a placeholder in angle brackets copied from the documentation. Replace it`}},
		{"every problem in one run", win40, `{"secretsManagementSettings": {"linkOnRenewal": true, "observedCertificates": [{"url": "https://kva.vault.azure.net/certificates/x"}, {"url": "https://kvb.vault.azure.net/secrets/y", "certificateStoreLocation": "currentuser"}]}, "authenticationSettings": {"msiClientId": "nope"}}`,
			[]string{"secretsManagementSettings.linkOnRenewal:", "observedCertificates[0].url:", "observedCertificates[1].certificateStoreLocation:", "authenticationSettings.msiClientId:", "authenticationSettings.msiEndpoint:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := parseErrors(t, tt.schema, tt.text)
			if len(errs) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(errs), len(tt.want), errs)
			}
			for i, w := range tt.want {
				for _, part := range strings.Split(w, " … ") {
					if !strings.Contains(errs[i].String(), part) {
						t.Errorf("problem %d:\n got %s\nwant it to contain %s", i, errs[i], part)
					}
				}
			}
		})
	}
}

// TestParseMalformedJSON checks line and column and the hint for the usual causes.
func TestParseMalformedJSON(t *testing.T) {
	tests := []struct {
		name, text, where, hint string
	}{
		{"missing value", "{\n  \"secretsManagementSettings\": {\n    \"pollingIntervalInS\": ,\n", "line 3, column 27", "Fix the JSON syntax"},
		{"single quotes", "{'secretsManagementSettings': {}}", "line 1, column 2", "replace the single quotes"},
		{"trailing comma", "{\"secretsManagementSettings\": {\"observedCertificates\": [\"x\",]}}", "line 1, column 61", "no trailing comma"},
		{"placeholder", "{\"secretsManagementSettings\": {\"pollingIntervalInS\": <pollingInterval>}}", "line 1, column 54", "placeholder copied from the documentation"},
		{"truncated", "{\"secretsManagementSettings\": {", "line 1, column 32", "closing } or ]"},
		{"comment", "{\n// settings\n}", "line 2, column 1", "no comments"},
		{"missing comma", "{\"a\": 1\n \"b\": 2}", "line 2, column 2", "A comma is missing"},
		{"two objects", "{} {}", "line 1, column 4", "keep exactly one JSON object"},
		{"hashtable", "@{ \"secretsManagementSettings\" = @{ } }", "line 1, column 1", "PowerShell hashtable"},
		{"smart quotes", "{“secretsManagementSettings”: {}}", "line 1, column 2", "typographic quotes"},
		{"escaped quotes that stay broken", `{\"secretsManagementSettings\": {\"a\": }}`, "line 1, column 2", `\" escapes`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := parseErrors(t, win40, tt.text)
			if len(errs) != 1 {
				t.Fatalf("got %v, want one problem", errs)
			}
			got := errs[0].String()
			if !strings.Contains(got, "malformed JSON at "+tt.where) || !strings.Contains(got, tt.hint) {
				t.Errorf("got %s\nwant %q and %q", got, tt.where, tt.hint)
			}
		})
	}
}

func TestErrorsRendering(t *testing.T) {
	one := Errors{{Path: "a.b", Message: "is wrong", Hint: "Fix it."}}
	if got, want := one.Error(), "a.b: is wrong. Fix it."; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	two := append(one, Problem{Message: "malformed JSON."})
	if got, want := two.Error(), "2 problems in the settings:\n  a.b: is wrong. Fix it.\n  malformed JSON."; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestParseRejectsUnknownSchema(t *testing.T) {
	if _, err := Parse([]byte(sms(oneCert40)), Options{}); err == nil {
		t.Fatal("Parse with no schema succeeded; the schema must be chosen explicitly")
	}
	for _, tt := range []struct{ platform, version string }{{"windows", "2.0"}, {"linux", "4.0"}, {"macos", ""}} {
		if _, err := ParseSchema(tt.platform, tt.version); err == nil {
			t.Errorf("ParseSchema(%q, %q) succeeded", tt.platform, tt.version)
		}
	}
}

func TestClosestField(t *testing.T) {
	known := knownFields(win40, lvSMS)
	for key, want := range map[string]string{
		"pollingIntervalInSeconds": "pollingIntervalInS",
		"pollingInterval":          "pollingIntervalInS",
		"observedCertificate":      "observedCertificates",
		"observedCertficates":      "observedCertificates",
		"reloadCmd":                "",
		"url":                      "",
	} {
		if got := closest(key, known); got != want {
			t.Errorf("closest(%q) = %q, want %q", key, got, want)
		}
	}
}

// Paths are the ones the operator wrote: inside the extension's settings,
// however the file wraps them; Within says where the settings sit.
func TestPathsAreInsideTheSettingsObject(t *testing.T) {
	bad := `{"secretsManagementSettings": {"observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/a"}, {"url": "https://myvault.vault.azure.net/certificates/b"}]}}`
	for _, tc := range []struct{ name, text, within string }{
		{"settings object", bad, ""},
		{"guest agent file", `{"runtimeSettings":[{"handlerSettings":{"protectedSettings":null,"publicSettings":` + bad + `}}]}`, "runtimeSettings[0].handlerSettings.publicSettings"},
		{"ARM resource", `{"type":"Microsoft.Compute/virtualMachines/extensions","properties":{"type":"KeyVaultForWindows","typeHandlerVersion":"4.0","settings":` + bad + `}}`, "properties.settings"},
		{"az vm extension show", `{"typePropertiesType":"KeyVaultForWindows","typeHandlerVersion":"4.0","settings":` + bad + `}`, "settings"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := parseErrors(t, win40, tc.text)
			if len(errs) != 1 {
				t.Fatalf("problems = %v", errs)
			}
			p := errs[0]
			if p.Path != "secretsManagementSettings.observedCertificates[1].url" || p.Within != tc.within {
				t.Errorf("path %q within %q, want secretsManagementSettings.observedCertificates[1].url within %q", p.Path, p.Within, tc.within)
			}
			if want := strings.TrimPrefix(tc.within+".secretsManagementSettings.observedCertificates[1].url", "."); p.FullPath() != want {
				t.Errorf("FullPath() = %q, want %q", p.FullPath(), want)
			}
			if msg := errs.Error(); !strings.HasPrefix(msg, "secretsManagementSettings.observedCertificates[1].url: ") {
				t.Errorf("Error() = %q, want the operator's path first", msg)
			}
		})
	}

	// A problem of the wrapper keeps its path from the file's root.
	errs := parseErrors(t, win40, `{"properties":{"type":"KeyVaultForWindows","typeHandlerVersion":"3.0","settings":`+bad+`}}`)
	if len(errs) != 2 || errs[0].Path != "properties.typeHandlerVersion" || errs[0].Within != "" || errs[1].Within != "properties.settings" {
		t.Errorf("problems = %+v", errs)
	}

	// Double-encoded public settings: the warning is about the settings as
	// a whole, not the guest agent's wrapper.
	good := sms(oneCert40)
	s, err := Parse([]byte(`{"runtimeSettings":[{"handlerSettings":{"publicSettings":`+quoteJSON(t, good)+`}}]}`), Options{Schema: win40})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Warnings) != 1 || s.Warnings[0].Path != "" || !strings.HasPrefix(s.Warnings[0].String(), "the settings are a JSON string that contains the settings object (double-encoded)") ||
		s.Within != "runtimeSettings[0].handlerSettings.publicSettings" {
		t.Errorf("warnings %+v within %q", s.Warnings, s.Within)
	}
}
