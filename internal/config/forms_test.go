package config

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/akvvm/akvvm/internal/store"
)

func mustParse(t *testing.T, s Schema, data []byte) *Settings {
	t.Helper()
	got, err := Parse(data, Options{Schema: s})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return got
}

func utf16LE(s string) []byte {
	out := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(s)) {
		out = append(out, byte(u), byte(u>>8))
	}
	return out
}

func quoteJSON(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestParseAcceptsWrappedAndEncodedForms checks that the same settings are
// understood however they arrive, and that a repair is reported as a warning.
func TestParseAcceptsWrappedAndEncodedForms(t *testing.T) {
	bare := sms(oneCert40)
	tests := []struct {
		name     string
		data     []byte
		warnings []string
	}{
		{"bare", []byte(bare), nil},
		{"guest agent RuntimeSettings", []byte(`{"runtimeSettings":[{"handlerSettings":{"protectedSettingsCertThumbprint":null,"protectedSettings":null,"publicSettings":` + bare + `}}]}`), nil},
		{"ARM resource", []byte(`{"type":"Microsoft.Compute/virtualMachines/extensions","properties":{"publisher":"Microsoft.Azure.KeyVault","type":"KeyVaultForWindows","typeHandlerVersion":"4.0","settings":` + bare + `}}`), nil},
		{"az vm extension show", []byte(`{"name":"KeyVaultForWindows","typeHandlerVersion":"4.0","typePropertiesType":"KeyVaultForWindows","settings":` + bare + `}`), nil},
		{"double-encoded", []byte(quoteJSON(t, bare)), []string{"double-encoded"}},
		{"double-encoded publicSettings", []byte(`{"runtimeSettings":[{"handlerSettings":{"publicSettings":` + quoteJSON(t, bare) + `}}]}`), []string{"double-encoded"}},
		{"double-encoded secretsManagementSettings", []byte(`{"secretsManagementSettings":` + quoteJSON(t, "{"+oneCert40+"}") + `}`), []string{"double-encoded"}},
		{"double-encoded certificate", []byte(sms(`"observedCertificates": [` + quoteJSON(t, `{"url": "https://myvault.vault.azure.net/secrets/c"}`) + `]`)), []string{"double-encoded"}},
		{"backslash-escaped", []byte(strings.ReplaceAll(bare, `"`, `\"`)), []string{"backslash-escaped quotes"}},
		{"UTF-8 byte order mark", append([]byte{0xEF, 0xBB, 0xBF}, bare...), nil},
		{"UTF-16", utf16LE(bare), []string{"UTF-16"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustParse(t, win40, tt.data)
			if len(got.Certificates) != 1 || got.Certificates[0].URL.String() != "https://myvault.vault.azure.net/secrets/c" {
				t.Errorf("certificates = %+v", got.Certificates)
			}
			if len(got.Warnings) != len(tt.warnings) {
				t.Fatalf("warnings = %v, want %q", got.Warnings, tt.warnings)
			}
			for i, w := range tt.warnings {
				if !strings.Contains(got.Warnings[i].Message, w) || got.Warnings[i].Hint == "" {
					t.Errorf("warning %d = %q, want it to contain %q and a hint", i, got.Warnings[i], w)
				}
			}
			if len(tt.warnings) > 0 && strings.Contains(tt.warnings[0], "double") && !strings.Contains(got.Warnings[0].Hint, "-SettingString") {
				t.Errorf("double-encoding hint %q does not say how to fix it", got.Warnings[0].Hint)
			}
		})
	}
}

// TestParseValueShapes checks the value shapes the documents use and the defaults.
func TestParseValueShapes(t *testing.T) {
	tests := []struct {
		name   string
		schema Schema
		text   string
		check  func(t *testing.T, s *Settings)
	}{
		{"interval as number, booleans as strings", win30, sms(`"pollingIntervalInS": 600, "linkOnRenewal": "True", "requireInitialSync": "false", "observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/c", "keyExportable": "TRUE"}]`),
			func(t *testing.T, s *Settings) {
				if s.PollingInterval != 10*time.Minute || !s.LinkOnRenewal || s.RequireInitialSync || !s.Certificates[0].KeyExportable {
					t.Errorf("got %+v", s)
				}
				if s.InitialSync != (InitialSyncPolicy{Wait: false, MaxAttempts: 25}) {
					t.Errorf("InitialSync = %+v", s.InitialSync)
				}
			}},
		{"defaults", win40, sms(oneCert40), func(t *testing.T, s *Settings) {
			c := s.Certificates[0]
			if s.PollingInterval != time.Hour || c.StoreName != "MY" || c.StoreLocation != "LocalMachine" || s.Identity != (Identity{Endpoint: DefaultIMDSEndpoint}) || c.ReloadTimeout != 30*time.Second {
				t.Errorf("got %+v", s)
			}
			if !s.LinkOnRenewal || !s.RequireInitialSync || s.InitialSync != (InitialSyncPolicy{Wait: true, MaxAttempts: 25}) {
				t.Errorf("4.0 must always link and wait: %+v", s)
			}
		}},
		{"1.0 waits forever", win10, sms(`"requireInitialSync": true, ` + oneCert10), func(t *testing.T, s *Settings) {
			if s.InitialSync != (InitialSyncPolicy{Wait: true, MaxAttempts: 0}) {
				t.Errorf("InitialSync = %+v", s.InitialSync)
			}
		}},
		{"pinned version in 3.0", win30, sms(`"observedCertificates": [{"url": "https://myvault.vault.azure.net:443/secrets/c/0123456789ABCDEF0123456789ABCDEF"}]`), func(t *testing.T, s *Settings) {
			if s.Certificates[0].URL.Version != "0123456789abcdef0123456789abcdef" {
				t.Errorf("version = %q", s.Certificates[0].URL.Version)
			}
		}},
		{"Arc endpoint without token path", win40, `{"secretsManagementSettings": {` + oneCert40 + `}, "authenticationSettings": {"msiEndpoint": "http://localhost:40342/metadata/identity/"}}`, func(t *testing.T, s *Settings) {
			if s.Identity.Endpoint != "http://localhost:40342/metadata/identity/oauth2/token" {
				t.Errorf("endpoint = %q", s.Identity.Endpoint)
			}
		}},
		{"client id normalised", win40, `{"secretsManagementSettings": {` + oneCert40 + `}, "authenticationSettings": {"msiEndpoint": "http://169.254.169.254/metadata/identity/oauth2/token", "msiClientId": "C7373AE5-91C2-4165-8AB6-7381D6E75619"}}`, func(t *testing.T, s *Settings) {
			if s.Identity.ClientID != "c7373ae5-91c2-4165-8ab6-7381d6e75619" {
				t.Errorf("client id = %q", s.Identity.ClientID)
			}
		}},
		{"reload fields inherit and override", win40, sms(`"reloadCommand": ["iisreset", "/noforce"], "reloadTimeoutInS": "120", "observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/a"}, {"url": "https://myvault.vault.azure.net/secrets/b", "reloadCommand": ["net", "stop", "w3svc"], "reloadTimeoutInS": 5}]`), func(t *testing.T, s *Settings) {
			a, b := s.Certificates[0], s.Certificates[1]
			if !reflect.DeepEqual(a.ReloadCommand, []string{"iisreset", "/noforce"}) || a.ReloadTimeout != 2*time.Minute {
				t.Errorf("a = %+v", a)
			}
			if !reflect.DeepEqual(b.ReloadCommand, []string{"net", "stop", "w3svc"}) || b.ReloadTimeout != 5*time.Second {
				t.Errorf("b = %+v", b)
			}
		}},
		{"Linux 3.0 strings and a store default", lin30, sms(`"certificateStoreLocation": "/etc/ssl/keyvault/", "observedCertificates": ["https://myvault.vault.azure.net/secrets/a", {"url": "https://myvault.vault.azure.net/secrets/b", "certificateStoreLocation": "/srv/certs"}]`), func(t *testing.T, s *Settings) {
			if s.Certificates[0].StoreLocation != "/etc/ssl/keyvault" || s.Certificates[1].StoreLocation != "/srv/certs" || s.Certificates[0].StoreName != "" {
				t.Errorf("got %+v", s.Certificates)
			}
		}},
		{"removal on uninstall is off by default", lin30, sms(oneCert10), func(t *testing.T, s *Settings) {
			if s.RemoveOnUninstall {
				t.Error("RemoveOnUninstall is on without removeCertificatesOnUninstall")
			}
		}},
		{"removal on uninstall as a string", win10, sms(`"removeCertificatesOnUninstall": "TRUE", ` + oneCert10), func(t *testing.T, s *Settings) {
			if !s.RemoveOnUninstall {
				t.Error(`removeCertificatesOnUninstall "TRUE" did not turn RemoveOnUninstall on`)
			}
		}},
		{"expiry warning default and setting", lin30, sms(`"expiryWarningInS": "604800", ` + oneCert10), func(t *testing.T, s *Settings) {
			if s.ExpiryWarning != 7*24*time.Hour {
				t.Errorf("ExpiryWarning = %v, want 168h", s.ExpiryWarning)
			}
		}},
		{"Linux default store", lin20, sms(oneCert10), func(t *testing.T, s *Settings) {
			if s.Certificates[0].StoreLocation != DefaultLinuxStore {
				t.Errorf("store = %q", s.Certificates[0].StoreLocation)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, mustParse(t, tt.schema, []byte(tt.text))) })
	}
}

func TestTarget(t *testing.T) {
	win := mustParse(t, win30, []byte(sms(`"linkOnRenewal": true, "observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/c", "certificateStoreName": "TrustedPeople", "certificateStoreLocation": "CurrentUser", "accounts": ["Local Service"], "keyExportable": true}]`)))
	want := store.Target{Location: "CurrentUser", StoreName: "TrustedPeople", Accounts: []string{"Local Service"}, KeyExportable: true, LinkOnRenewal: true}
	if got := win.Target(win.Certificates[0]); !reflect.DeepEqual(got, want) {
		t.Errorf("Windows target = %+v, want %+v", got, want)
	}
	lin := mustParse(t, lin30, []byte(sms(`"aclEnabled": true, "linkOnRenewal": true, "observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/c", "certificateStoreLocation": "/srv/app1", "customSymbolicLinkName": "app1", "acls": [{"group": "web"}]}]`)))
	want = store.Target{Location: "/srv/app1", LinkName: "app1", ACLs: []store.ACL{{Group: "web"}}}
	if got := lin.Target(lin.Certificates[0]); !reflect.DeepEqual(got, want) {
		t.Errorf("Linux target = %+v, want %+v (no renewal link on Linux)", got, want)
	}
	w40 := mustParse(t, win40, []byte(sms(oneCert40)))
	if got := w40.Target(w40.Certificates[0]); !got.KeyIsolation || !got.LinkOnRenewal || got.KeyExportable {
		t.Errorf("4.0 target = %+v, want KeyGuard isolation and renewal link, never exportable", got)
	}
}

// FuzzParse checks that Parse never panics and that it either returns a
// model or a non-empty list of complete problems, for every schema.
func FuzzParse(f *testing.F) {
	seeds := []string{
		sms(oneCert40), sms(oneCert10),
		`{"runtimeSettings":[{"handlerSettings":{"publicSettings":` + sms(oneCert40) + `}}]}`,
		`{"properties":{"typeHandlerVersion":"3.0","settings":` + sms(oneCert40) + `}}`,
		`"{\"secretsManagementSettings\":{}}"`,
		`{\"secretsManagementSettings\": {}}`,
		`{"secretsManagementSettings": {"aclEnabled": "true", "observedCertificates": [{"url": "https://x1y.vault.azure.net/secrets/a", "acls": [{"user": "a"}], "reloadCommand": ["a"]}]}, "authenticationSettings": {"msiEndpoint": "http:///x", "msiClientId": "[x]"}}`,
		"{'a': <b>,}",
	}
	for _, s := range seeds {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		schemas := Schemas()
		s := schemas[int(which)%len(schemas)]
		got, err := Parse(data, Options{Schema: s})
		if err != nil {
			errs, ok := err.(Errors)
			if !ok || len(errs) == 0 {
				t.Fatalf("error %v is not a non-empty Errors", err)
			}
			for _, p := range errs {
				if p.Message == "" || p.Hint == "" {
					t.Fatalf("incomplete problem %+v", p)
				}
			}
			return
		}
		if len(got.Certificates) == 0 || got.PollingInterval <= 0 || got.Identity.Endpoint == "" || got.Schema != s {
			t.Fatalf("accepted settings without certificates, interval or identity: %+v", got)
		}
	})
}
