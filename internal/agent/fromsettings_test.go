package agent

import (
	"testing"

	"github.com/akvvm/akvvm/internal/config"
)

func TestSpecFromSettingsKeepsEntriesOfOneSecretApart(t *testing.T) {
	s, err := config.Parse([]byte(`{"secretsManagementSettings": {"observedCertificates": [
		{"url": "https://myvault.vault.azure.net/secrets/web", "certificateStoreName": "MY", "certificateStoreLocation": "LocalMachine"},
		{"url": "https://myvault.vault.azure.net/secrets/web", "certificateStoreName": "TrustedPeople", "certificateStoreLocation": "LocalMachine"},
		{"url": "https://myvault.vault.azure.net/secrets/api", "certificateStoreName": "MY", "certificateStoreLocation": "LocalMachine"}]}}`),
		config.Options{Schema: config.Schema{Platform: config.Windows, Version: "4.0"}})
	if err != nil {
		t.Fatal(err)
	}
	spec := SpecFromSettings(s)
	keys := map[string]bool{}
	for _, c := range spec.Certificates {
		if keys[c.Key()] {
			t.Errorf("key %q used twice", c.Key())
		}
		keys[c.Key()] = true
	}
	for _, want := range []string{`myvault/web (LocalMachine\MY)`, `myvault/web (LocalMachine\TrustedPeople)`, "myvault/api"} {
		if !keys[want] {
			t.Errorf("keys %v lack %q", keys, want)
		}
	}
	if spec.Versions != 2 || spec.Keep != 2 || !spec.VerifyChain || !spec.InitialSync.Wait || spec.InitialSync.MaxAttempts != 25 {
		t.Errorf("4.0 rules = %+v", spec)
	}

	a, err := New(spec, Deps{Source: newFakeSource(), Store: newMemStore()})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(a.Status().Certificates); n != 3 {
		t.Errorf("status has %d certificates, want 3", n)
	}
}
