package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaFile is the published JSON Schema of s.
func schemaFile(s Schema) string {
	return filepath.Join("..", "..", "docs", "schema", string(s.Platform)+"-"+s.Version+".json")
}

func compileSchema(t *testing.T, s Schema) *jsonschema.Schema {
	t.Helper()
	sch, err := jsonschema.NewCompiler().Compile(schemaFile(s))
	if err != nil {
		t.Fatalf("compile %s: %v", schemaFile(s), err)
	}
	return sch
}

// settingsObject returns the bare settings object of a sample as JSON.
func settingsObject(t *testing.T, data []byte) string {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("sample is not JSON: %v", err)
	}
	if props, ok := doc["properties"].(map[string]any); ok {
		doc = props["settings"].(map[string]any)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// schemaAccepts validates text against the schema.
func schemaAccepts(t *testing.T, sch *jsonschema.Schema, text string) (bool, error) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		t.Fatalf("instance: %v", err)
	}
	err = sch.Validate(inst)
	return err == nil, err
}

// TestSchemasAcceptDocumentSamples validates every JSON sample of the
// documents against the schema of its version.
func TestSchemasAcceptDocumentSamples(t *testing.T) {
	for _, tt := range samples(t) {
		if filepath.Ext(tt.file) != ".json" {
			continue // not JSON as written; the parser repairs it with a warning
		}
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "samples", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := schemaAccepts(t, compileSchema(t, tt.schema), settingsObject(t, data)); !ok {
				t.Errorf("schema rejects the sample: %v", err)
			}
		})
	}
}

// TestSchemasAgreeWithParser checks that the published schema and the Go
// parser accept and reject the same settings.
func TestSchemasAgreeWithParser(t *testing.T) {
	url := `"https://myvault.vault.azure.net/secrets/c"`
	cert := `{"url": ` + url + `}`
	tests := []struct {
		name   string
		schema Schema
		text   string
		valid  bool
	}{
		{"1.0 minimal", win10, sms(`"observedCertificates": [` + url + `]`), true},
		{"1.0 value shapes", win10, sms(`"pollingIntervalInS": 120, "linkOnRenewal": "TRUE", "requireInitialSync": false, "certificateStoreLocation": "CurrentUser", "observedCertificates": [` + url + `]`), true},
		{"3.0 pinned version", win30, sms(`"observedCertificates": [{"url": "https://myvault.vault.azure.net:443/secrets/c/0123456789abcdef0123456789abcdef"}]`), true},
		{"4.0 reload extension", win40, sms(`"pollingIntervalInS": "300", "reloadCommand": ["iisreset"], "observedCertificates": [{"url": ` + url + `, "reloadCommand": ["a", "b"], "reloadTimeoutInS": "60"}]`), true},
		{"Linux 3.0 string entry", lin30, sms(`"certificateStoreLocation": "/etc/ssl/kv", "observedCertificates": [` + url + `]`), true},
		{"removal on uninstall", win40, sms(`"removeCertificatesOnUninstall": true, "observedCertificates": [` + cert + `]`), true},
		{"metrics listen", lin20, sms(`"metricsListen": "127.0.0.1:9464", "observedCertificates": [` + url + `]`), true},
		{"removal on uninstall as string", lin20, sms(`"removeCertificatesOnUninstall": "False", "observedCertificates": [` + url + `]`), true},
		{"expiry warning", win40, sms(`"expiryWarningInS": "1209600", "observedCertificates": [` + cert + `]`), true},
		{"activation delay as string and number", win30, sms(`"activationDelayInS": "3600", "observedCertificates": [{"url": ` + url + `, "activationDelayInS": 0}]`), true},
		{"activation delay in 1.0", win10, sms(`"activationDelayInS": 60, "observedCertificates": [` + url + `]`), true},
		{"activation delay per Linux certificate", lin30, sms(`"observedCertificates": [{"url": ` + url + `, "activationDelayInS": "5"}]`), true},
		{"negative activation delay", lin20, sms(`"activationDelayInS": -1, "observedCertificates": [` + url + `]`), false},
		{"activation delay with a unit", win40, sms(`"observedCertificates": [{"url": ` + url + `, "activationDelayInS": "5s"}]`), false},
		{"object id", win40, `{"secretsManagementSettings": {"observedCertificates": [` + cert + `]}, "authenticationSettings": {"msiEndpoint": "http://169.254.169.254/metadata/identity", "msiObjectId": "aaaa0000-bb11-2222-33cc-444444dddddd"}}`, true},
		{"object id without endpoint", lin20, `{"secretsManagementSettings": {"observedCertificates": [` + url + `]}, "authenticationSettings": {"msiObjectId": "aaaa0000-bb11-2222-33cc-444444dddddd"}}`, false},
		{"object id and client id", win10, `{"secretsManagementSettings": {"observedCertificates": [` + url + `]}, "authenticationSettings": {"msiEndpoint": "http://169.254.169.254/metadata/identity", "msiClientId": "00001111-aaaa-2222-bbbb-3333cccc4444", "msiObjectId": "aaaa0000-bb11-2222-33cc-444444dddddd"}}`, false},
		{"Arc endpoint", win40, `{"secretsManagementSettings": {"observedCertificates": [` + cert + `]}, "authenticationSettings": {"msiEndpoint": "http://localhost:40342/metadata/identity"}}`, true},

		{"certificates URL", win10, sms(`"observedCertificates": ["https://myvault.vault.azure.net/certificates/c"]`), false},
		{"http URL", win40, sms(`"observedCertificates": [{"url": "http://myvault.vault.azure.net/secrets/c"}]`), false},
		{"foreign host", win30, sms(`"observedCertificates": [{"url": "https://myvault.example.com/secrets/c"}]`), false},
		{"location case", win30, sms(`"observedCertificates": [{"url": ` + url + `, "certificateStoreLocation": "localmachine"}]`), false},
		{"client id without endpoint", win40, `{"secretsManagementSettings": {"observedCertificates": [` + cert + `]}, "authenticationSettings": {"msiClientId": "00001111-aaaa-2222-bbbb-3333cccc4444"}}`, false},
		{"endpoint without host", win40, `{"secretsManagementSettings": {"observedCertificates": [` + cert + `]}, "authenticationSettings": {"msiEndpoint": "http:///169.254.169.254/metadata/identity"}}`, false},
		{"client id not a GUID", win30, `{"secretsManagementSettings": {"observedCertificates": [` + cert + `]}, "authenticationSettings": {"msiEndpoint": "http://169.254.169.254/metadata/identity", "msiClientId": "00001111-aaaa-2222-bbbb-3333cccc44444"}}`, false},
		{"linkOnRenewal in 4.0", win40, sms(`"linkOnRenewal": true, "observedCertificates": [` + cert + `]`), false},
		{"keyExportable in 4.0", win40, sms(`"observedCertificates": [{"url": ` + url + `, "keyExportable": false}]`), false},
		{"interval below 4.0 range", win40, sms(`"pollingIntervalInS": "299", "observedCertificates": [` + cert + `]`), false},
		{"interval above 4.0 range", win40, sms(`"pollingIntervalInS": 3601, "observedCertificates": [` + cert + `]`), false},
		{"pinned version in 4.0", win40, sms(`"observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/c/0123456789abcdef0123456789abcdef"}]`), false},
		{"authenticationSettings nested", win30, sms(`"observedCertificates": [` + cert + `], "authenticationSettings": {}`), false},
		{"singular observedCertificate", win10, sms(`"observedCertificate": [` + url + `]`), false},
		{"objects in 1.0", win10, sms(`"observedCertificates": [` + cert + `]`), false},
		{"strings in 3.0", win30, sms(`"observedCertificates": [` + url + `]`), false},
		{"empty list", win40, sms(`"observedCertificates": []`), false},
		{"accounts on Linux", lin30, sms(`"observedCertificates": [{"url": ` + url + `, "accounts": ["x"]}]`), false},
		{"empty acl", lin30, sms(`"aclEnabled": true, "observedCertificates": [{"url": ` + url + `, "acls": [{}]}]`), false},
		{"Windows location on Linux", lin20, sms(`"certificateStoreLocation": "LocalMachine", "observedCertificates": [` + url + `]`), false},
		{"reload command as string", win40, sms(`"observedCertificates": [{"url": ` + url + `, "reloadCommand": "iisreset"}]`), false},
		{"interval with unit", win10, sms(`"pollingIntervalInS": "1h", "observedCertificates": [` + url + `]`), false},
		{"metrics listen without a host", lin20, sms(`"metricsListen": ":9464", "observedCertificates": [` + url + `]`), false},
		{"removal on uninstall as word", win30, sms(`"removeCertificatesOnUninstall": "yes", "observedCertificates": [` + cert + `]`), false},
		{"removal on uninstall in a certificate", lin30, sms(`"observedCertificates": [{"url": ` + url + `, "removeCertificatesOnUninstall": true}]`), false},
		{"expiry warning of zero", lin30, sms(`"expiryWarningInS": 0, "observedCertificates": [` + url + `]`), false},
		{"expiry warning in a certificate", lin30, sms(`"observedCertificates": [{"url": ` + url + `, "expiryWarningInS": "86400"}]`), false},
		{"boolean as word", win30, sms(`"requireInitialSync": "yes", "observedCertificates": [` + cert + `]`), false},
		{"link name with backslash", lin30, sms(`"observedCertificates": [{"url": ` + url + `, "customSymbolicLinkName": "a\\b"}]`), false},
		{"link name with reserved prefix", lin30, sms(`"observedCertificates": [{"url": ` + url + `, "customSymbolicLinkName": ".akvvm-x"}]`), false},
		{"link name with newline", lin30, sms(`"observedCertificates": [{"url": ` + url + `, "customSymbolicLinkName": "a\nb"}]`), false},
		{"link name with U+202E", lin30, sms(`"observedCertificates": [{"url": ` + url + `, "customSymbolicLinkName": "a\u202eb"}]`), false},
		{"link name of printable UTF-8", lin30, sms(`"observedCertificates": [{"url": ` + url + `, "customSymbolicLinkName": "zertifikat-ä.pem"}]`), true},
		{"store directory with newline", lin30, sms(`"certificateStoreLocation": "/srv/a\nb", "observedCertificates": [` + url + `]`), false},
		{"store directory /proc/self", lin20, sms(`"certificateStoreLocation": "/proc/self", "observedCertificates": [` + url + `]`), false},
		{"store directory /", lin30, sms(`"observedCertificates": [{"url": ` + url + `, "certificateStoreLocation": "/"}]`), false},
		{"store directory /procfs", lin30, sms(`"observedCertificates": [{"url": ` + url + `, "certificateStoreLocation": "/procfs"}]`), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			schemaOK, schemaErr := schemaAccepts(t, compileSchema(t, tt.schema), tt.text)
			_, parseErr := Parse([]byte(tt.text), Options{Schema: tt.schema})
			if schemaOK != tt.valid {
				t.Errorf("schema valid = %v, want %v (%v)", schemaOK, tt.valid, schemaErr)
			}
			if (parseErr == nil) != tt.valid {
				t.Errorf("parser valid = %v, want %v (%v)", parseErr == nil, tt.valid, parseErr)
			}
		})
	}
}
