package config

import (
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/store"
)

// linuxCert is Linux 3.0 settings with one certificate entry whose other
// fields are extra.
func linuxCert(extra string) string {
	return sms(`"observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/web", ` + extra + `}]`)
}

func TestOutputsAreParsed(t *testing.T) {
	s, err := Parse([]byte(linuxCert(`"customSymbolicLinkName": "web", "relativeLinks": "true",
		"outputs": {"cert": true, "chain": "TRUE", "fullChain": true, "key": true, "pfx": {"passwordFile": "/etc/akvvm//pfx.pass"}}`)), Options{Schema: lin30})
	if err != nil {
		t.Fatal(err)
	}
	got := s.Target(s.Certificates[0])
	want := store.Outputs{Cert: true, Chain: true, FullChain: true, Key: true, PFX: true, PFXPasswordFile: "/etc/akvvm/pfx.pass"}
	if got.Outputs != want || !got.RelativeLinks || got.LinkName != "web" {
		t.Errorf("Target = %+v, want outputs %+v and relative links", got, want)
	}
	s, err = Parse([]byte(linuxCert(`"outputs": {"pfx": true}`)), Options{Schema: lin30})
	if err != nil {
		t.Fatal(err)
	}
	if o := s.Certificates[0].Outputs; !o.PFX || o.PFXPasswordFile != "" || o.Cert {
		t.Errorf("pfx: true gave %+v, want a PFX with an empty password alone", o)
	}
	s, err = Parse([]byte(linuxCert(`"reloadCommand": ["true"]`)), Options{Schema: lin30})
	if err != nil || s.Certificates[0].Outputs.Any() || s.Certificates[0].RelativeLinks {
		t.Errorf("without outputs: %+v, %v; want the default layout", s.Certificates[0], err)
	}
}

func TestOutputsProblemsNameTheField(t *testing.T) {
	const entry = "secretsManagementSettings.observedCertificates[0]."
	tests := []struct {
		name   string
		schema Schema
		extra  string
		path   string
		msg    string // part of the message
		hint   string // part of the hint
	}{
		{"unknown file", lin30, `"outputs": {"cert": true, "privkey": true}`, entry + "outputs.privkey", `unknown field "privkey"`, "Fields allowed here: cert, chain, fullChain, key, pfx"},
		{"case of fullChain", lin30, `"outputs": {"fullchain": true}`, entry + "outputs.fullchain", "case-sensitive", `Write "fullChain"`},
		{"not a boolean", lin30, `"outputs": {"key": "yes"}`, entry + "outputs.key", "must be true or false", "Write true or false"},
		{"outputs not an object", lin30, `"outputs": ["cert"]`, entry + "outputs", "must be an object", "Write one object"},
		{"password in the settings", lin30, `"outputs": {"pfx": {"password": "hunter2"}}`, entry + "outputs.pfx.password", "never takes the PFX password from the settings", "passwordFile"},
		{"relative password file", lin30, `"outputs": {"pfx": {"passwordFile": "pfx.pass"}}`, entry + "outputs.pfx.passwordFile", `"pfx.pass" is relative`, "Write a path that starts with /"},
		{"pfx as a number", lin30, `"outputs": {"pfx": 1}`, entry + "outputs.pfx", "must be true, false or an object", `"pfx": {"passwordFile"`},
		{"file option in the entry", lin30, `"cert": true`, entry + "cert", `"cert" does not belong in each entry of observedCertificates`, "Move it to the outputs object"},
		{"on Windows", win40, `"outputs": {"cert": true}`, entry + "outputs", "akvvm option of Linux stores only", "Remove it"},
		{"relative links on Windows", win30, `"relativeLinks": true`, entry + "relativeLinks", "akvvm option of Linux stores only", "Remove it"},
		{"outputs link too long", lin30, `"customSymbolicLinkName": "` + strings.Repeat("a", 254) + `", "outputs": {"cert": true}`, entry + "customSymbolicLinkName", "too long for the link of the output files", "shorter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := parseErrors(t, tt.schema, linuxCert(tt.extra))
			if len(errs) != 1 || errs[0].Path != tt.path || !strings.Contains(errs[0].Message, tt.msg) || !strings.Contains(errs[0].Hint, tt.hint) {
				t.Fatalf("got %v\nwant %s: …%s… …%s…", errs, tt.path, tt.msg, tt.hint)
			}
			if strings.Contains(errs.Error(), "hunter2") {
				t.Error("the message repeats the password")
			}
		})
	}
}

func TestOutputsLinkMayNotTakeAnotherLinkName(t *testing.T) {
	text := sms(`"observedCertificates": [
		{"url": "https://myvault.vault.azure.net/secrets/a", "customSymbolicLinkName": "web.d"},
		{"url": "https://myvault.vault.azure.net/secrets/b", "customSymbolicLinkName": "web", "outputs": {"key": true}}]`)
	errs := parseErrors(t, lin30, text)
	if len(errs) != 1 || errs[0].Path != "secretsManagementSettings.observedCertificates[1].outputs" || !strings.Contains(errs[0].Message, `"web.d" is also the link name of secretsManagementSettings.observedCertificates[0]`) {
		t.Fatalf("got %v", errs)
	}
}

func TestOutputsAskingForNothingWarns(t *testing.T) {
	s, err := Parse([]byte(linuxCert(`"outputs": {"cert": false}`)), Options{Schema: lin30})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0].Message, "asks for no file") {
		t.Errorf("warnings = %v", s.Warnings)
	}
}

// TestOutputsSchemaAgreesWithParser checks the published Linux 3.0 schema
// and the parser on the outputs fields, and that no Windows schema takes them.
func TestOutputsSchemaAgreesWithParser(t *testing.T) {
	tests := []struct {
		name   string
		schema Schema
		extra  string
		valid  bool
	}{
		{"every file", lin30, `"relativeLinks": true, "outputs": {"cert": true, "chain": true, "fullChain": "true", "key": true, "pfx": {"passwordFile": "/etc/akvvm/pfx.pass"}}`, true},
		{"pfx without password", lin30, `"outputs": {"pfx": true}`, true},
		{"pfx with an empty object", lin30, `"outputs": {"pfx": {}}`, true},
		{"unknown file", lin30, `"outputs": {"privkey": true}`, false},
		{"password in the settings", lin30, `"outputs": {"pfx": {"password": "x"}}`, false},
		{"relative password file", lin30, `"outputs": {"pfx": {"passwordFile": "pfx.pass"}}`, false},
		{"password file /", lin30, `"outputs": {"pfx": {"passwordFile": "/"}}`, false},
		{"password file with newline", lin30, `"outputs": {"pfx": {"passwordFile": "/etc/a\nb"}}`, false},
		{"not a boolean", lin30, `"outputs": {"cert": "yes"}`, false},
		{"relative links as word", lin30, `"relativeLinks": "yes"`, false},
		{"outputs on Windows 4.0", win40, `"outputs": {"cert": true}`, false},
		{"outputs on Windows 3.0", win30, `"outputs": {"cert": true}`, false},
		{"relative links on Windows", win40, `"relativeLinks": true`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := linuxCert(tt.extra)
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
