package emulator

import (
	"context"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

// listItems lists the vault's secrets through the SDK, by name.
func listItems(t *testing.T, c *azsecrets.Client) (map[string]*azsecrets.SecretProperties, int) {
	t.Helper()
	items, pages := map[string]*azsecrets.SecretProperties{}, 0
	for p := c.NewListSecretPropertiesPager(nil); p.More(); {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list secrets: %v", err)
		}
		pages++
		for _, it := range page.Value {
			if it.ID.Version() != "" {
				t.Errorf("item id %s names a version; Key Vault's list of secrets does not", *it.ID)
			}
			items[it.ID.Name()] = it
		}
	}
	return items, pages
}

// The list of secrets carries, for each secret, the attributes of its
// current version, as Key Vault's does: a change to the current version
// moves the item, a change to an older one does not.
func TestListSecretsItemsAreTheCurrentVersions(t *testing.T) {
	clock := newFakeClock()
	e := startEmulator(t, Config{Now: clock.Now})
	mustVault(t, e, VaultSpec{Name: "myvault"})
	c := sdkClient(t, e, "https://myvault.vault.azure.net", newCred(e, ""))
	ctx := context.Background()

	first, err := e.SetSecret("myvault", "web", SecretSpec{Value: "one", ContentType: "application/x-pem-file"})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(10 * time.Second)
	exp := clock.Now().Add(48 * time.Hour).Truncate(time.Second)
	if _, err := e.SetSecret("myvault", "web", SecretSpec{Value: "two", ContentType: "application/x-pkcs12", Expires: &exp}); err != nil {
		t.Fatal(err)
	}
	items, _ := listItems(t, c)
	it := items["web"]
	if it == nil || !it.Attributes.Expires.Equal(exp) || *it.ContentType != "application/x-pkcs12" || !it.Attributes.Created.Equal(clock.Now().Truncate(time.Second)) {
		t.Fatalf("item %+v (%+v), want the second version's expiry, content type and creation", it, it.Attributes)
	}
	before := *it.Attributes.Updated

	clock.Advance(10 * time.Second)
	if _, err := c.UpdateSecretProperties(ctx, "web", first.Version, azsecrets.UpdateSecretPropertiesParameters{SecretAttributes: &azsecrets.SecretAttributes{Enabled: to.Ptr(false)}}, nil); err != nil {
		t.Fatal(err)
	}
	items, _ = listItems(t, c)
	if it := items["web"]; !*it.Attributes.Enabled || !it.Attributes.Updated.Equal(before) {
		t.Errorf("disabling the older version moved the item: enabled %v, updated %v (was %v)", *it.Attributes.Enabled, it.Attributes.Updated, before)
	}

	if err := e.SetSecretEnabled("myvault", "web", "", false); err != nil {
		t.Fatal(err)
	}
	items, _ = listItems(t, c)
	if it := items["web"]; *it.Attributes.Enabled || !it.Attributes.Updated.After(before) {
		t.Errorf("disabling the current version did not move the item: enabled %v, updated %v", *it.Attributes.Enabled, it.Attributes.Updated)
	}
}

// A vault of 2,000 secrets is one fill away and lists in 80 pages.
func TestFillMakesALargeVaultCheaply(t *testing.T) {
	e := startEmulator(t, Config{StateDir: t.TempDir()})
	mustVault(t, e, VaultSpec{Name: "myvault"})
	start := time.Now()
	got, err := e.FillSecrets("myvault", FillSpec{Prefix: "filler", Count: 2000})
	if err != nil || got.Secrets != 2000 {
		t.Fatalf("fill: %+v, %v", got, err)
	}
	t.Logf("filled 2,000 secrets in %v", time.Since(start))
	items, pages := listItems(t, sdkClient(t, e, "https://myvault.vault.azure.net", newCred(e, "")))
	if pages != 80 || len(items) != 2000 || items["filler01999"] == nil {
		t.Errorf("listed %d secrets in %d pages, want 2,000 in 80", len(items), pages)
	}
	if _, err := e.FillSecrets("myvault", FillSpec{Prefix: "bad/", Count: 1}); err == nil {
		t.Error("a prefix with a slash was accepted")
	}
	if _, err := e.FillSecrets("myvault", FillSpec{Prefix: "x", Count: 0}); err == nil {
		t.Error("a count of 0 was accepted")
	}
}
