package emulator

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// listedVersions lists a secret's versions through the official SDK, as
// akvvm sees them.
func listedVersions(t *testing.T, e *Emulator, vault, name string) ([]string, error) {
	t.Helper()
	c := sdkClient(t, e, "https://"+vault+".vault.azure.net", newCred(e, ""))
	var out []string
	pager := c.NewListSecretPropertiesVersionsPager(name, nil)
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			return nil, err
		}
		for _, p := range page.Value {
			out = append(out, p.ID.Version())
		}
	}
	slices.Sort(out)
	return out, nil
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// Deleting one version (a secret restored without it) removes it from the
// listing and from the data plane, survives a restart, leaves rotation
// working, and deleting the last version deletes the secret.
func TestDeleteSecretVersion(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	e := startEmulator(t, Config{StateDir: dir})
	mustVault(t, e, VaultSpec{Name: "delvault"})
	ac, err := NewAdminClient(e.AdminURL(), e.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	spec := CertificateSpec{KeyType: "EC-P256", ContentType: "pem"}
	v1, err := ac.CreateCertificate(ctx, "delvault", "web", spec)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := ac.RotateCertificate(ctx, "delvault", "web")
	if err != nil {
		t.Fatal(err)
	}
	v3, err := ac.RotateCertificate(ctx, "delvault", "web")
	if err != nil {
		t.Fatal(err)
	}

	if err := ac.DeleteSecretVersion(ctx, "delvault", "web", v2.Version); err != nil {
		t.Fatalf("DeleteSecretVersion: %v", err)
	}
	if got, err := listedVersions(t, e, "delvault", "web"); err != nil || !slices.Equal(got, sorted(v1.Version, v3.Version)) {
		t.Errorf("listed after deleting %s = %v, %v; want %v", v2.Version, got, err, sorted(v1.Version, v3.Version))
	}
	c := httpClient(t, e)
	tok := mustToken(t, e, "https://vault.azure.net", "")
	if r := rawRequest(t, c, http.MethodGet, "https://delvault.vault.azure.net/secrets/web/"+v2.Version+"?api-version=7.5", tok, ""); r.status != http.StatusNotFound || r.errorCode() != "SecretNotFound" {
		t.Errorf("get of the deleted version = %d %s, want 404 SecretNotFound", r.status, r.errorCode())
	}
	if _, err := ac.GetSecret(ctx, "delvault", "web", v2.Version); !errors.Is(err, ErrNotFound) {
		t.Errorf("admin get of the deleted version = %v, want ErrNotFound", err)
	}
	if err := ac.DeleteSecretVersion(ctx, "delvault", "web", v2.Version); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting the version twice = %v, want ErrNotFound", err)
	}
	if err := ac.DeleteSecretVersion(ctx, "delvault", "web", ""); err == nil {
		t.Error("DeleteSecretVersion without a version succeeded")
	}
	if err := e.DeleteSecretVersion("delvault", "web", ""); err == nil {
		t.Error("Emulator.DeleteSecretVersion without a version succeeded")
	}
	if err := ac.DeleteSecretVersion(ctx, "nosuch", "web", v1.Version); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting in a missing vault = %v, want ErrNotFound", err)
	}

	// The deletion is saved: a restarted emulator does not list it either.
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e = startEmulator(t, Config{StateDir: dir})
	if ac, err = NewAdminClient(e.AdminURL(), e.CAFile()); err != nil {
		t.Fatal(err)
	}
	if got, err := listedVersions(t, e, "delvault", "web"); err != nil || !slices.Equal(got, sorted(v1.Version, v3.Version)) {
		t.Errorf("listed after a restart = %v, %v; want %v", got, err, sorted(v1.Version, v3.Version))
	}
	// Deleting the latest makes the one before it the current version.
	if err := ac.DeleteSecretVersion(ctx, "delvault", "web", v3.Version); err != nil {
		t.Fatal(err)
	}
	if cur, err := ac.GetSecret(ctx, "delvault", "web", ""); err != nil || cur.Version != v1.Version {
		t.Errorf("current after deleting the latest = %s, %v; want %s", cur.Version, err, v1.Version)
	}
	v4, err := ac.RotateCertificate(ctx, "delvault", "web")
	if err != nil {
		t.Fatalf("rotate after deleting versions: %v", err)
	}
	for _, v := range []string{v1.Version, v4.Version} {
		if err := ac.DeleteSecretVersion(ctx, "delvault", "web", v); err != nil {
			t.Fatal(err)
		}
	}
	_, err = listedVersions(t, e, "delvault", "web")
	if status, code := responseErrorCode(t, err); status != http.StatusNotFound || code != "SecretNotFound" {
		t.Errorf("listing a secret whose last version was deleted = %d %s (%v), want 404 SecretNotFound", status, code, err)
	}
	if v := e.Vaults(); len(v) != 1 || v[0].Secrets != 0 {
		t.Errorf("vaults after deleting every version = %+v, want no secret left", v)
	}
}

func TestDeleteSecret(t *testing.T) {
	e := startEmulator(t, Config{})
	mustVault(t, e, VaultSpec{Name: "delvault"})
	ac, err := NewAdminClient(e.AdminURL(), e.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 2 {
		if _, err := ac.SetSecret(ctx, "delvault", "plain", SecretSpec{Value: "v"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ac.DeleteSecret(ctx, "delvault", "plain"); err != nil {
		t.Fatalf("DeleteSecret: %v", err)
	}
	_, err = listedVersions(t, e, "delvault", "plain")
	if status, code := responseErrorCode(t, err); status != http.StatusNotFound || code != "SecretNotFound" {
		t.Errorf("listing a deleted secret = %d %s (%v), want 404 SecretNotFound", status, code, err)
	}
	if err := ac.DeleteSecret(ctx, "delvault", "plain"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting twice = %v, want ErrNotFound", err)
	}
	// The name can be used again and starts with one version.
	if _, err := ac.SetSecret(ctx, "delvault", "plain", SecretSpec{Value: "again"}); err != nil {
		t.Fatal(err)
	}
	if got, err := listedVersions(t, e, "delvault", "plain"); err != nil || len(got) != 1 {
		t.Errorf("versions of the recreated secret = %v, %v; want one", got, err)
	}
}

// A deletion whose state cannot be saved is refused and changes nothing.
func TestUnsavedDeletionIsNotKept(t *testing.T) {
	dir := t.TempDir()
	e := startEmulator(t, Config{StateDir: dir})
	mustVault(t, e, VaultSpec{Name: "savevault"})
	v1, err := e.SetSecret("savevault", "s1", SecretSpec{Value: "a"})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := e.SetSecret("savevault", "s1", SecretSpec{Value: "b"})
	if err != nil {
		t.Fatal(err)
	}
	statePath := filepath.Join(dir, "state.json")
	if err := os.Remove(statePath); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(statePath, "blocked"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteSecretVersion("savevault", "s1", v2.Version); err == nil {
		t.Error("DeleteSecretVersion succeeded although the state could not be saved")
	}
	if err := e.DeleteSecret("savevault", "s1"); err == nil {
		t.Error("DeleteSecret succeeded although the state could not be saved")
	}
	for _, v := range []string{v1.Version, v2.Version} {
		if _, err := e.GetSecret("savevault", "s1", v); err != nil {
			t.Errorf("version %s after a refused deletion: %v", v, err)
		}
	}
	if cur, err := e.GetSecret("savevault", "s1", ""); err != nil || cur.Version != v2.Version {
		t.Errorf("latest after a refused deletion = %s, %v; want %s", cur.Version, err, v2.Version)
	}
}
