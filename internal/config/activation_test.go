package config

import (
	"strings"
	"testing"
	"time"
)

// TestActivationDelayForms checks activationDelayInS in every schema: as a
// string or a number, as the default in secretsManagementSettings and,
// where certificates are objects, per certificate.
func TestActivationDelayForms(t *testing.T) {
	const u = `"https://myvault.vault.azure.net/secrets/`
	tests := []struct {
		name   string
		schema Schema
		text   string
		want   []time.Duration // per certificate
	}{
		{"1.0 default as string", win10, sms(`"activationDelayInS": "3600", "observedCertificates": [` + u + `a"]`), []time.Duration{time.Hour}},
		{"Linux 2.0 default as number", lin20, sms(`"activationDelayInS": 90, "observedCertificates": [` + u + `a"]`), []time.Duration{90 * time.Second}},
		{"3.0 per certificate over the default", win30, sms(`"activationDelayInS": "60", "observedCertificates": [{"url": ` + u + `a"}, {"url": ` + u + `b", "activationDelayInS": 5}, {"url": ` + u + `c", "activationDelayInS": "0"}]`),
			[]time.Duration{time.Minute, 5 * time.Second, 0}},
		{"4.0 per certificate", win40, sms(`"observedCertificates": [{"url": ` + u + `a", "activationDelayInS": "86400"}]`), []time.Duration{24 * time.Hour}},
		{"Linux 3.0 objects and strings", lin30, sms(`"activationDelayInS": " 30 ", "observedCertificates": [` + u + `a", {"url": ` + u + `b", "activationDelayInS": 7.0}]`),
			[]time.Duration{30 * time.Second, 7 * time.Second}},
		{"absent", lin30, sms(`"observedCertificates": [` + u + `a"]`), []time.Duration{0}},
		{"pinned version ignores the default", win30, sms(`"activationDelayInS": "60", "observedCertificates": [{"url": ` + u + `a/0123456789abcdef0123456789abcdef"}]`), []time.Duration{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(tt.text), Options{Schema: tt.schema})
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Certificates) != len(tt.want) {
				t.Fatalf("%d certificates, want %d", len(s.Certificates), len(tt.want))
			}
			for i, c := range s.Certificates {
				if c.ActivationDelay != tt.want[i] {
					t.Errorf("certificate %d: delay %v, want %v", i, c.ActivationDelay, tt.want[i])
				}
			}
			if len(s.Warnings) > 0 {
				t.Errorf("warnings: %v", s.Warnings)
			}
		})
	}
}

// TestActivationDelayRefused checks that a bad activationDelayInS is
// refused with its path and how to write it.
func TestActivationDelayRefused(t *testing.T) {
	const u = `"https://myvault.vault.azure.net/secrets/a"`
	tests := []struct {
		name   string
		schema Schema
		text   string
		want   string
	}{
		{"negative string", win40, sms(`"activationDelayInS": "-5", "observedCertificates": [{"url": ` + u + `}]`),
			`secretsManagementSettings.activationDelayInS: is -5 seconds; a delay cannot be negative. Write the seconds as a string, such as "3600"`},
		{"negative number per certificate", lin30, sms(`"observedCertificates": [{"url": ` + u + `, "activationDelayInS": -1}]`),
			`secretsManagementSettings.observedCertificates[0].activationDelayInS: is -1 seconds; a delay cannot be negative`},
		{"unit", win30, sms(`"observedCertificates": [{"url": ` + u + `, "activationDelayInS": "1h"}]`),
			`observedCertificates[0].activationDelayInS: must be a whole number of seconds (0 or more), but is the string "1h"`},
		{"fraction", lin20, sms(`"activationDelayInS": 1.5, "observedCertificates": [` + u + `]`),
			`secretsManagementSettings.activationDelayInS: must be a whole number of seconds (0 or more), but is the number 1.5`},
		{"boolean", win10, sms(`"activationDelayInS": true, "observedCertificates": [` + u + `]`),
			`secretsManagementSettings.activationDelayInS: must be a number of seconds, but is the boolean true`},
		{"overflow", win40, sms(`"activationDelayInS": "99999999999999999", "observedCertificates": [{"url": ` + u + `}]`),
			`activationDelayInS: is 99999999999999999 seconds, more than akvvm can wait`},
		{"per certificate in a URL-string schema", win10, sms(`"observedCertificates": [{"url": ` + u + `, "activationDelayInS": "5"}]`),
			`observedCertificates[0]: must be a secret URL string`},
		{"pinned version with its own delay", win30, sms(`"observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/a/0123456789abcdef0123456789abcdef", "activationDelayInS": "5"}]`),
			`observedCertificates[0].activationDelayInS: has no effect: the url pins version 0123456789abcdef0123456789abcdef`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := parseErrors(t, tt.schema, tt.text)
			if len(errs) != 1 || !strings.Contains(errs[0].String(), tt.want) {
				t.Errorf("got %v\nwant one problem containing %s", errs, tt.want)
			}
		})
	}
}

// TestIdentitySelectors checks msiObjectId, a resource id in msiClientId
// and that only one identity may be selected.
func TestIdentitySelectors(t *testing.T) {
	const ep = `"msiEndpoint": "http://169.254.169.254/metadata/identity"`
	const rid = "/subscriptions/00001111-aaaa-2222-bbbb-3333cccc4444/resourceGroups/rg-app/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-web"
	auth := func(body string) string {
		return `{"secretsManagementSettings": {` + oneCert40 + `}, "authenticationSettings": {` + body + `}}`
	}

	s, err := Parse([]byte(auth(ep+`, "msiObjectId": "AAAA0000-BB11-2222-33CC-444444DDDDDD"`)), Options{Schema: win40})
	if err != nil {
		t.Fatal(err)
	}
	if s.Identity.ObjectID != "aaaa0000-bb11-2222-33cc-444444dddddd" || s.Identity.ClientID != "" || len(s.Warnings) != 0 {
		t.Errorf("object id: %+v, warnings %v", s.Identity, s.Warnings)
	}
	if got := s.Identity.Name(); got != "user-assigned identity with object id aaaa0000-bb11-2222-33cc-444444dddddd" {
		t.Errorf("Name = %q", got)
	}

	s, err = Parse([]byte(auth(ep+`, "msiClientId": "`+rid+`"`)), Options{Schema: lin30})
	if err != nil {
		t.Fatal(err)
	}
	if s.Identity.ResourceID != rid || s.Identity.ClientID != "" {
		t.Errorf("resource id: %+v", s.Identity)
	}
	if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0].String(),
		"authenticationSettings.msiClientId: is the ARM resource id of a user-assigned identity, not its client id; akvvm asks the identity endpoint for it by resource id (msi_res_id). The Microsoft extension fails on a resource id here: write the identity's Client ID (a GUID) in msiClientId") ||
		!strings.Contains(s.Warnings[0].String(), "az identity show --ids "+rid+" --query clientId -o tsv") {
		t.Errorf("warnings = %v", s.Warnings)
	}

	for _, tt := range []struct {
		name, body string
		want       []string
	}{
		{"both selectors", ep + `, "msiClientId": "00001111-aaaa-2222-bbbb-3333cccc4444", "msiObjectId": "aaaa0000-bb11-2222-33cc-444444dddddd"`,
			[]string{"authenticationSettings.msiObjectId: and msiClientId both select a user-assigned identity; only one may be given. Keep msiClientId (the identity's Client ID) and remove msiObjectId, or the other way round."}},
		{"resource id and object id", ep + `, "msiClientId": "` + rid + `", "msiObjectId": "aaaa0000-bb11-2222-33cc-444444dddddd"`,
			[]string{"authenticationSettings.msiObjectId: and msiClientId both select"}},
		{"object id without endpoint", `"msiObjectId": "aaaa0000-bb11-2222-33cc-444444dddddd"`,
			[]string{"authenticationSettings.msiEndpoint: is missing; it is required when msiObjectId is given"}},
		{"object id not a GUID", ep + `, "msiObjectId": "web-identity"`,
			[]string{`authenticationSettings.msiObjectId: "web-identity" is not an object id. Copy the Object (principal) ID`}},
		{"resource id in object id", ep + `, "msiObjectId": "` + rid + `"`,
			[]string{"authenticationSettings.msiObjectId: is a resource id, not an object id"}},
		{"resource id of a virtual machine", ep + `, "msiClientId": "/subscriptions/00001111-aaaa-2222-bbbb-3333cccc4444/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"`,
			[]string{"authenticationSettings.msiClientId: is an ARM resource id, but not of a user-assigned managed identity"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			errs := parseErrors(t, win30, auth(tt.body))
			if len(errs) != len(tt.want) {
				t.Fatalf("got %v, want %d problems", errs, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(errs[i].String(), w) {
					t.Errorf("problem %d:\n got %s\nwant %s", i, errs[i], w)
				}
			}
		})
	}
}
