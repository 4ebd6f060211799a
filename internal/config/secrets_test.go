package config

import (
	"strings"
	"testing"
	"time"
)

// linuxSecret is Linux 3.0 settings with one certificate and one
// observedSecrets entry made of fields.
func linuxSecret(fields string) string {
	return sms(`"observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/web"}], "observedSecrets": [{` + fields + `}]`)
}

const dbURL = `"url": "https://myvault.vault.azure.net/secrets/db", `

func TestSecretsAreParsed(t *testing.T) {
	s, err := Parse([]byte(linuxSecret(dbURL+`"path": "/etc/app/db", "mode": "0640", "owner": "app", "group": "1001",
		"reloadCommand": ["systemctl", "reload", "app"], "reloadTimeoutInS": "10"`)), Options{Schema: lin30})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Secrets) != 1 || len(s.Certificates) != 1 {
		t.Fatalf("secrets %v, certificates %v", s.Secrets, s.Certificates)
	}
	got := s.Secrets[0]
	if got.URL.Name != "db" || got.Path != "/etc/app/db" || got.Mode != 0o640 || got.Owner != "app" || got.Group != "1001" ||
		strings.Join(got.ReloadCommand, " ") != "systemctl reload app" || got.ReloadTimeout != 10*time.Second {
		t.Errorf("secret = %+v", got)
	}
	if len(s.Warnings) != 0 {
		t.Errorf("warnings = %v", s.Warnings)
	}
}

func TestSecretDefaultsAndSecretsAlone(t *testing.T) {
	for _, schema := range []Schema{lin20, lin30} {
		text := sms(`"reloadCommand": ["true"], "observedSecrets": [{` + dbURL + `"path": "/etc/app/db"}]`)
		s, err := Parse([]byte(text), Options{Schema: schema})
		if err != nil {
			t.Fatalf("%s: %v", schema, err)
		}
		got := s.Secrets[0]
		if got.Mode != 0o600 || got.Owner != "" || len(got.ReloadCommand) != 0 || len(s.Certificates) != 0 {
			t.Errorf("%s: %+v; want mode 0600, no owner, no inherited reload command, no certificates", schema, got)
		}
	}
}

func TestSecretProblemsNameTheField(t *testing.T) {
	const entry = "secretsManagementSettings.observedSecrets[0]."
	tests := []struct {
		name   string
		fields string
		path   string
		msg    string
		hint   string
	}{
		{"pinned version", `"url": "https://myvault.vault.azure.net/secrets/db/0123456789abcdef0123456789abcdef", "path": "/etc/db"`, entry + "url",
			"observedSecrets always writes the newest", "https://myvault.vault.azure.net/secrets/db (no version) in observedSecrets"},
		{"no url", `"path": "/etc/db"`, entry + "url", "is missing", "secrets/<secret name>"},
		{"no path", dbURL[:len(dbURL)-2], entry + "path", "is missing", "/etc/myapp/db-password"},
		{"relative path", dbURL + `"path": "db.txt"`, entry + "path", "is relative", "starts with /"},
		{"directory", dbURL + `"path": "/etc/app/"`, entry + "path", "names a directory", "Name the file"},
		{"mode as a number", dbURL + `"path": "/etc/db", "mode": 600`, entry + "mode", "decimal, not octal", `"mode": "0600"`},
		{"mode not octal", dbURL + `"path": "/etc/db", "mode": "0689"`, entry + "mode", "not an octal mode", "octal string"},
		{"setuid", dbURL + `"path": "/etc/db", "mode": "4600"`, entry + "mode", "setuid", "octal string"},
		{"unreadable", dbURL + `"path": "/etc/db", "mode": "0200"`, entry + "mode", "neither the owner nor the group read", "octal string"},
		{"bad owner", dbURL + `"path": "/etc/db", "owner": "app:app"`, entry + "owner", "is not a user or group name", "id(1)"},
		{"unknown field", dbURL + `"path": "/etc/db", "contentType": "text"`, entry + "contentType", "unknown field", "Fields allowed here: url, path, mode, owner, group"},
		{"timeout without command", dbURL + `"path": "/etc/db", "reloadTimeoutInS": "5"`, entry + "reloadTimeoutInS", "no effect without reloadCommand", "Add reloadCommand"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := parseErrors(t, lin30, linuxSecret(tt.fields))
			if len(errs) != 1 || errs[0].Path != tt.path || !strings.Contains(errs[0].Message, tt.msg) || !strings.Contains(errs[0].Hint, tt.hint) {
				t.Fatalf("got %v\nwant %s: …%s… …%s…", errs, tt.path, tt.msg, tt.hint)
			}
		})
	}
}

func TestSecretsTwoForOneFile(t *testing.T) {
	text := sms(`"observedSecrets": [{` + dbURL + `"path": "/etc/db"}, {"url": "https://myvault.vault.azure.net/secrets/other", "path": "/etc//db"}]`)
	errs := parseErrors(t, lin30, text)
	if len(errs) != 1 || errs[0].Path != "secretsManagementSettings.observedSecrets[1].path" || !strings.Contains(errs[0].Message, "also the path of secretsManagementSettings.observedSecrets[0]") {
		t.Fatalf("got %v", errs)
	}
}

func TestSecretsWarnings(t *testing.T) {
	s, err := Parse([]byte(linuxSecret(dbURL+`"path": "/etc//app/db", "mode": "0644"`)), Options{Schema: lin30})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Warnings) != 2 || !strings.Contains(s.Warnings[0].Message, `is written as "/etc/app/db"`) || !strings.Contains(s.Warnings[1].Message, "every user on the machine") {
		t.Errorf("warnings = %v", s.Warnings)
	}
}

func TestSecretsRefusedOnWindows(t *testing.T) {
	for _, schema := range []Schema{win10, win30, win40} {
		text := sms(`"observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/web"}], "observedSecrets": [{` + dbURL + `"path": "C:\\db"}]`)
		if schema == win10 {
			text = sms(`"observedCertificates": ["https://myvault.vault.azure.net/secrets/web"], "observedSecrets": []`)
		}
		errs := parseErrors(t, schema, text)
		if len(errs) != 1 || errs[0].Path != "secretsManagementSettings.observedSecrets" || !strings.Contains(errs[0].Message, "akvvm option of Linux only") {
			t.Errorf("%s: got %v", schema, errs)
		}
	}
}

func TestSecretsSchemaAgreesWithParser(t *testing.T) {
	tests := []struct {
		name   string
		schema Schema
		fields string
		valid  bool
	}{
		{"full", lin30, dbURL + `"path": "/etc/db", "mode": "0640", "owner": "app", "group": "0", "reloadCommand": ["true"]`, true},
		{"least", lin20, dbURL + `"path": "/etc/db"`, true},
		{"relative path", lin30, dbURL + `"path": "etc/db"`, false},
		{"mode as a number", lin30, dbURL + `"path": "/etc/db", "mode": 600`, false},
		{"mode not octal", lin30, dbURL + `"path": "/etc/db", "mode": "rw"`, false},
		{"setuid", lin30, dbURL + `"path": "/etc/db", "mode": "4600"`, false},
		{"unreadable", lin30, dbURL + `"path": "/etc/db", "mode": "0200"`, false},
		{"group reads", lin30, dbURL + `"path": "/etc/db", "mode": "0o040"`, true},
		{"pinned", lin30, `"url": "https://myvault.vault.azure.net/secrets/db/0123456789abcdef0123456789abcdef", "path": "/etc/db"`, false},
		{"no path", lin30, dbURL[:len(dbURL)-2], false},
		{"unknown field", lin30, dbURL + `"path": "/etc/db", "value": "x"`, false},
		{"on Windows", win40, dbURL + `"path": "/etc/db"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := linuxSecret(tt.fields)
			if tt.schema == lin20 {
				text = sms(`"observedCertificates": ["https://myvault.vault.azure.net/secrets/web"], "observedSecrets": [{` + tt.fields + `}]`)
			}
			schemaOK, schemaErr := schemaAccepts(t, compileSchema(t, tt.schema), text)
			_, parseErr := Parse([]byte(text), Options{Schema: tt.schema})
			if schemaOK != tt.valid {
				t.Errorf("schema valid = %v, want %v (%v)", schemaOK, tt.valid, schemaErr)
			}
			if (parseErr == nil) != tt.valid {
				t.Errorf("parser valid = %v, want %v (%v)", parseErr == nil, tt.valid, parseErr)
			}
		})
	}
}
