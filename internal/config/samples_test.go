package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/store"
)

// sample is one settings sample from the documents (see testdata/samples/README.md).
type sample struct {
	file   string
	schema Schema
	want   Settings
	// warnings are substrings of the expected warnings, in order.
	warnings []string
}

func mustURL(t *testing.T, raw string) keyvault.SecretURL {
	t.Helper()
	u, err := keyvault.ParseSecretURL(raw)
	if err != nil {
		t.Fatalf("test URL %q: %v", raw, err)
	}
	return u
}

// win returns a Windows certificate with the default reload timeout.
func win(t *testing.T, raw, name, location string, accounts ...string) Certificate {
	t.Helper()
	return Certificate{URL: mustURL(t, raw), StoreName: name, StoreLocation: location, Accounts: accounts, ReloadTimeout: DefaultReloadTimeout}
}

var (
	win10, win30, win40 = Schema{Windows, "1.0"}, Schema{Windows, "3.0"}, Schema{Windows, "4.0"}
	lin20, lin30        = Schema{Linux, "2.0"}, Schema{Linux, "3.0"}
)

const (
	userID10 = "c7373ae5-91c2-4165-8ab6-7381d6e75619"
	userID30 = "00001111-aaaa-2222-bbbb-3333cccc4444"
	mv       = "https://myvault.vault.azure.net/secrets/"
	mvcn     = "https://myvault.vault.azure.cn/secrets/"
	ekv      = "https://examplekv.vault.azure.net/secrets/"
	ekvcn    = "https://examplekv.vault.azure.cn/secrets/"
)

func samples(t *testing.T) []sample {
	t.Helper()
	imds := Identity{Endpoint: DefaultIMDSEndpoint}
	win10Certs := []Certificate{win(t, mv+"mycertificate", "MY", "LocalMachine"), win(t, mv+"mycertificate2", "MY", "LocalMachine")}
	w10 := func(sync bool, id Identity, certs []Certificate) Settings {
		return Settings{Schema: win10, PollingInterval: time.Hour, RequireInitialSync: sync, InitialSync: InitialSyncPolicy{Wait: sync}, Certificates: certs, Identity: id}
	}
	w30 := func(link, sync bool, certs []Certificate) Settings {
		return Settings{Schema: win30, PollingInterval: time.Hour, LinkOnRenewal: link, RequireInitialSync: sync,
			InitialSync: InitialSyncPolicy{Wait: sync, MaxAttempts: 25}, Certificates: certs, Identity: Identity{Endpoint: DefaultIMDSEndpoint, ClientID: userID30}}
	}
	w40 := func(certs []Certificate) Settings {
		return Settings{Schema: win40, PollingInterval: time.Hour, LinkOnRenewal: true, RequireInitialSync: true,
			InitialSync: InitialSyncPolicy{Wait: true, MaxAttempts: 25}, Certificates: certs, Identity: Identity{Endpoint: DefaultIMDSEndpoint, ClientID: userID30}}
	}
	exportable := win(t, ekv+"certificate2", "MY", "LocalMachine", "Network Service", "Local Service")
	exportable.KeyExportable = true
	win30Schema := []Certificate{
		win(t, mv+"mycertificate1", "MY", "LocalMachine", "Network Service", "Local Service"),
		win(t, mv+"mycertificate2", "MY", "CurrentUser", "Local Service"),
	}
	win30PS := []Certificate{win(t, ekv+"certificate1", "MY", "LocalMachine", "Network Service"), exportable}
	win40Schema := []Certificate{
		win(t, mvcn+"mycertificate1", "MY", "LocalMachine", "Network Service", "Local Service"),
		win(t, mvcn+"mycertificate2", "MY", "CurrentUser", "Local Service"),
		win(t, mvcn+"mycertificate3", "TrustedPeople", "LocalMachine"),
	}
	win40PS := []Certificate{
		win(t, ekvcn+"certificate1", "MY", "LocalMachine", "Network Service"),
		win(t, ekvcn+"certificate2", "MY", "LocalMachine", "Network Service", "Local Service"),
	}
	linuxID := Identity{Endpoint: DefaultIMDSEndpoint, ClientID: userID10}
	return []sample{
		{file: "win10-schema.json", schema: win10, want: w10(true, linuxID, win10Certs)},
		{file: "win10-template.json", schema: win10, want: w10(false, imds, win10Certs)},
		{file: "win10-fragments.json", schema: win10, want: w10(true, linuxID, win10Certs)},
		{file: "win10-powershell-hashtable.json", schema: win10, want: w10(false, imds, win10Certs)},
		{file: "win10-powershell-string.json", schema: win10, want: w10(false, imds, win10Certs)},
		{file: "win10-cli.json", schema: win10, want: w10(false, imds, win10Certs),
			warnings: []string{"spaces around the URL", "spaces around the URL"}},
		{file: "win10-cli-escaped.txt", schema: win10, want: w10(false, imds, win10Certs),
			warnings: []string{`backslash-escaped quotes`, "spaces around the URL", "spaces around the URL"}},
		{file: "win30-schema.json", schema: win30, want: w30(true, true, win30Schema)},
		{file: "win30-template.json", schema: win30, want: w30(true, false, append(win30Schema[:2:2], win(t, mv+"mycertificate3", "TrustedPeople", "LocalMachine")))},
		{file: "win30-fragments.json", schema: win30, want: w30(false, true, []Certificate{win(t, mv+"mycertificate1", "MY", "LocalMachine", "Network Service", "Local Service")})},
		{file: "win30-powershell.json", schema: win30, want: w30(true, false, win30PS)},
		{file: "win30-cli.json", schema: win30, want: w30(true, false, win30PS)},
		{file: "win40-schema.json", schema: win40, want: w40(win40Schema)},
		{file: "win40-template.json", schema: win40, want: w40(win40Schema)},
		{file: "win40-fragments.json", schema: win40, want: w40([]Certificate{win(t, mvcn+"mycertificate1", "MY", "LocalMachine")})},
		{file: "win40-powershell.json", schema: win40, want: w40(win40PS)},
		{file: "win40-cli.json", schema: win40, want: w40(win40PS)},
		{file: "linux20.json", schema: lin20, warnings: []string{"ignored on Linux"}, want: Settings{
			Schema: lin20, PollingInterval: time.Hour, RequireInitialSync: true, InitialSync: InitialSyncPolicy{Wait: true},
			Identity: linuxID,
			Certificates: []Certificate{
				{URL: mustURL(t, mv+"mycertificate"), StoreLocation: "/var/lib/waagent/Microsoft.Azure.KeyVault", ReloadTimeout: DefaultReloadTimeout},
				{URL: mustURL(t, mv+"mycertificate2"), StoreLocation: "/var/lib/waagent/Microsoft.Azure.KeyVault", ReloadTimeout: DefaultReloadTimeout},
			},
		}},
		{file: "linux30.json", schema: lin30, want: Settings{
			Schema: lin30, PollingInterval: time.Hour, RequireInitialSync: true, InitialSync: InitialSyncPolicy{Wait: true, MaxAttempts: 25},
			Identity: linuxID,
			Logging:  &Logging{Logger: "fluentd", Endpoint: "tcp://localhost:24224", Format: "forward", ServiceName: "akvvm_service"},
			Certificates: []Certificate{{
				URL: mustURL(t, mv+"mycertificate1"), StoreLocation: "/var/lib/waagent/Microsoft.Azure.KeyVault/app1",
				LinkName: "app1Cert1", ACLs: []store.ACL{{User: "app1", Group: "appGroup1"}, {User: "service1"}},
				ReloadTimeout: DefaultReloadTimeout,
			}},
		}},
	}
}

func TestParseDocumentSamples(t *testing.T) {
	for _, tt := range samples(t) {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseFile(filepath.Join("testdata", "samples", tt.file), Options{Schema: tt.schema})
			if err != nil {
				t.Fatalf("ParseFile: %v", err)
			}
			if len(got.Warnings) != len(tt.warnings) {
				t.Fatalf("warnings = %v, want %d matching %q", got.Warnings, len(tt.warnings), tt.warnings)
			}
			for i, w := range tt.warnings {
				if !strings.Contains(got.Warnings[i].Message, w) {
					t.Errorf("warning %d = %q, want it to contain %q", i, got.Warnings[i], w)
				}
			}
			if strings.Contains(tt.file, "template") || strings.Contains(tt.file, "schema") {
				if got.Within != "properties.settings" {
					t.Errorf("Within = %q, want properties.settings (an ARM resource)", got.Within)
				}
			}
			got.Warnings, got.Within = nil, ""
			assertSettings(t, got, &tt.want)
		})
	}
}

// assertSettings compares two models field by field so a failure names the field.
func assertSettings(t *testing.T, got, want *Settings) {
	t.Helper()
	gv, wv := reflect.ValueOf(*got), reflect.ValueOf(*want)
	for i := range gv.NumField() {
		name := gv.Type().Field(i).Name
		if name == "Certificates" {
			continue
		}
		if !reflect.DeepEqual(gv.Field(i).Interface(), wv.Field(i).Interface()) {
			t.Errorf("%s = %+v, want %+v", name, gv.Field(i).Interface(), wv.Field(i).Interface())
		}
	}
	if len(got.Certificates) != len(want.Certificates) {
		t.Fatalf("%d certificates, want %d: %+v", len(got.Certificates), len(want.Certificates), got.Certificates)
	}
	for i := range got.Certificates {
		g, w := got.Certificates[i], want.Certificates[i]
		g.URL.Raw, w.URL.Raw = "", ""
		if !reflect.DeepEqual(g, w) {
			t.Errorf("certificate %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}
