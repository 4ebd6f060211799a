package keyvault

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/emulator"
)

func TestListSecretsPagesAndStops(t *testing.T) {
	f := newVaultFixture(t)
	if _, err := f.e.FillSecrets("myvault", emulator.FillSpec{Prefix: "s", Count: 60}); err != nil {
		t.Fatal(err)
	}
	web, err := f.e.SetSecret("myvault", "web", emulator.SecretSpec{Value: "x", ContentType: "application/x-pem-file"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.e.SetSecretEnabled("myvault", "web", web.Version, false); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	names := map[string]SecretItem{}
	l, err := f.clients.ListSecrets(ctx, f.url, 0, func(page []SecretItem) {
		for _, it := range page {
			names[it.Name] = it
		}
	})
	if err != nil || l != (Listing{Pages: 3, Complete: true}) || len(names) != 61 {
		t.Fatalf("listing %+v, %d names, %v; want 3 pages, complete, 61 names", l, len(names), err)
	}
	if it := names["web"]; it.Enabled || it.ContentType != "application/x-pem-file" || it.Created.IsZero() {
		t.Errorf("web's item %+v, want its current version: disabled, PEM, created", it)
	}

	f.e.ResetLog()
	pages := 0
	l, err = f.clients.ListSecrets(ctx, f.url, 2, func([]SecretItem) { pages++ })
	if err != nil || l != (Listing{Pages: 2}) || pages != 2 {
		t.Errorf("at most 2 pages: %+v, %d pages handed over, %v; want 2 pages, not complete", l, pages, err)
	}
	if n := f.e.Count(emulator.OpListSecrets, "myvault"); n != 2 {
		t.Errorf("%d list requests reached the vault, want 2", n)
	}
}

func TestListSecretsRefusedNamesTheVault(t *testing.T) {
	f := newVaultFixture(t)
	if err := f.e.SetAccess("myvault", map[string][]emulator.Permission{emulator.SystemAssignedClientID: {emulator.PermGet}}); err != nil {
		t.Fatal(err)
	}
	_, err := f.clients.ListSecrets(context.Background(), f.url, 0, func([]SecretItem) { t.Error("a page was handed over") })
	var kv *Error
	if !errors.As(err, &kv) || kv.StatusCode() != 403 {
		t.Fatalf("err = %v, want a 403 *keyvault.Error", err)
	}
	if !strings.HasPrefix(kv.Error(), "key vault: list the secrets in https://myvault.vault.azure.net: HTTP 403") {
		t.Errorf("message %q", kv.Error())
	}
}
