package emulator

import (
	"context"
	"testing"
	"time"
)

// A version whose exp has passed is still listed, with its exp, and the
// emulator still serves it: not using it is the client's decision (akvvm
// filters on the listed attributes).
func TestExpiredVersionIsListedWithItsExpiry(t *testing.T) {
	e := startEmulator(t, Config{})
	mustVault(t, e, VaultSpec{Name: "expvault"})
	exp := time.Now().Add(-time.Hour).Truncate(time.Second)
	v, err := e.SetSecret("expvault", "old", SecretSpec{Value: "v", Expires: &exp})
	if err != nil {
		t.Fatal(err)
	}
	c := sdkClient(t, e, "https://expvault.vault.azure.net", newCred(e, ""))
	ctx := context.Background()
	page, err := c.NewListSecretPropertiesVersionsPager("old", nil).NextPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Value) != 1 || page.Value[0].ID.Version() != v.Version {
		t.Fatalf("listed %d versions, want only %s", len(page.Value), v.Version)
	}
	if a := page.Value[0].Attributes; a == nil || a.Expires == nil || !a.Expires.Equal(exp) {
		t.Errorf("listed attributes %+v, want exp %s", a, exp)
	}
	if _, err := c.GetSecret(ctx, "old", v.Version, nil); err != nil {
		t.Errorf("get of the expired version: %v (the emulator does not refuse expired versions)", err)
	}
}
