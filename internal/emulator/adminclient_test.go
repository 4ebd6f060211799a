package emulator

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// TestAdminClient exercises every admin endpoint through the Go client, as the
// CLI and tests in other packages use it.
func TestAdminClient(t *testing.T) {
	e := startEmulator(t, Config{})
	ctx := context.Background()
	ac, err := NewAdminClient(e.AdminURL(), e.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	if err := ac.Health(ctx); err != nil {
		t.Fatalf("Health: %v", err)
	}
	const user = "01234567-89ab-4cde-8f01-23456789abcd"
	if _, err := ac.CreateVault(ctx, VaultSpec{Name: "adminvault"}); err != nil {
		t.Fatalf("CreateVault: %v", err)
	}
	if _, err := ac.CreateVault(ctx, VaultSpec{Name: "x"}); err == nil {
		t.Error("CreateVault accepted a one-letter name")
	}
	if err := ac.AddIdentity(ctx, user); err != nil {
		t.Fatalf("AddIdentity: %v", err)
	}
	if ids, err := ac.Identities(ctx); err != nil || len(ids) != 2 {
		t.Errorf("Identities = %v, %v", ids, err)
	}
	if err := ac.SetAccess(ctx, "adminvault", map[string][]Permission{user: {PermGet}}); err != nil {
		t.Fatalf("SetAccess: %v", err)
	}
	if err := ac.SetAccess(ctx, "nosuch", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetAccess on a missing vault = %v, want ErrNotFound", err)
	}
	v, err := ac.Vaults(ctx)
	if err != nil || len(v) != 1 || v[0].URL != "https://adminvault.vault.azure.net" || len(v[0].Access[user]) != 1 {
		t.Errorf("Vaults = %+v, %v", v, err)
	}
	sv, err := ac.SetSecret(ctx, "adminvault", "plain", SecretSpec{Value: "v"})
	if err != nil || len(sv.Version) != 32 || sv.ID != "https://adminvault.vault.azure.net/secrets/plain/"+sv.Version {
		t.Errorf("SetSecret = %+v, %v", sv, err)
	}
	cv, err := ac.CreateCertificate(ctx, "adminvault", "cert", CertificateSpec{DNSNames: []string{"a.example"}, ContentType: "pem"})
	if err != nil || cv.Thumbprint == "" {
		t.Fatalf("CreateCertificate = %+v, %v", cv, err)
	}
	rv, err := ac.RotateCertificate(ctx, "adminvault", "cert")
	if err != nil || rv.Version == cv.Version {
		t.Errorf("RotateCertificate = %+v, %v", rv, err)
	}
	got, err := ac.GetSecret(ctx, "adminvault", "cert", "")
	if err != nil || got.Version != rv.Version || !got.Managed || !got.Enabled {
		t.Fatalf("GetSecret = %+v, %v", got.SecretVersion, err)
	}
	pem := got.Value
	if err := ac.SetSecretEnabled(ctx, "adminvault", "cert", cv.Version, false); err != nil {
		t.Fatalf("SetSecretEnabled: %v", err)
	}
	if old, err := ac.GetSecret(ctx, "adminvault", "cert", cv.Version); err != nil || old.Enabled {
		t.Errorf("disabled version = %+v, %v", old.SecretVersion, err)
	}
	if _, err := ac.GetSecret(ctx, "adminvault", "nosuch", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetSecret missing = %v, want ErrNotFound", err)
	}
	iv, err := ac.ImportCertificate(ctx, "adminvault", "copy", ImportSpec{Data: []byte(pem), ContentType: "pfx"})
	if err != nil || iv.Thumbprint != rv.Thumbprint || iv.ContentType != "application/x-pkcs12" {
		t.Errorf("ImportCertificate = %+v, %v", iv, err)
	}

	id, err := ac.AddFault(ctx, Fault{Op: OpGetSecret, Kind: FaultStatus, Status: 500})
	if err != nil {
		t.Fatalf("AddFault: %v", err)
	}
	if _, err := ac.AddFault(ctx, Fault{Op: "nope", Kind: FaultStatus, Status: 500}); err == nil {
		t.Error("AddFault accepted an unknown op")
	}
	if f, err := ac.Faults(ctx); err != nil || len(f) != 1 || f[0].ID != id {
		t.Errorf("Faults = %+v, %v", f, err)
	}
	if err := ac.RemoveFault(ctx, id); err != nil {
		t.Errorf("RemoveFault: %v", err)
	}
	if err := ac.RemoveFault(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("RemoveFault twice = %v, want ErrNotFound", err)
	}
	if _, err := ac.AddFault(ctx, Fault{Op: OpAny, Kind: FaultReset}); err != nil {
		t.Fatal(err)
	}
	if err := ac.ClearFaults(ctx); err != nil || len(e.Faults()) != 0 {
		t.Errorf("ClearFaults: %v, left %v", err, e.Faults())
	}
	if err := ac.SetThrottle(ctx, 1, true); err != nil {
		t.Errorf("SetThrottle: %v", err)
	}

	c := httpClient(t, e)
	tok := mustToken(t, e, "https://vault.azure.net", user)
	rawRequest(t, c, http.MethodGet, "https://adminvault.vault.azure.net/secrets/plain?api-version=7.5", tok, "")
	rawRequest(t, c, http.MethodGet, "https://adminvault.vault.azure.net/secrets/plain?api-version=7.5", tok, "")
	reqs, err := ac.Requests(ctx)
	if err != nil || len(reqs) != 3 || reqs[1].ClientID != user || reqs[1].Status != 200 || reqs[2].Status != 429 {
		t.Errorf("Requests = %+v, %v; want token, 200, 429", reqs, err)
	}
	counts, err := ac.Counts(ctx)
	if err != nil || len(counts) != 2 || counts[0] != (Counter{Op: OpGetSecret, Vault: "adminvault", Count: 2}) {
		t.Errorf("Counts = %+v, %v", counts, err)
	}
	if err := ac.ResetLog(ctx); err != nil || len(e.Requests()) != 0 || e.Count("", "") != 0 {
		t.Errorf("ResetLog: %v", err)
	}
}

func TestNewAdminClientErrors(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:1", "127.0.0.1:8443", "https://"} {
		if _, err := NewAdminClient(u, ""); err == nil {
			t.Errorf("NewAdminClient(%q) succeeded", u)
		}
	}
	if _, err := NewAdminClient("https://127.0.0.1:1", "/nonexistent/ca.pem"); err == nil {
		t.Error("NewAdminClient with a missing CA file succeeded")
	}
}

// TestEmptyRequestLogIsList checks that an empty request log is served as a
// JSON list, as the counters are, and never as null.
func TestEmptyRequestLogIsList(t *testing.T) {
	e := startEmulator(t, Config{})
	ac, err := NewAdminClient(e.AdminURL(), e.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, step := range []string{"fresh", "after reset"} {
		reqs, err := ac.Requests(ctx)
		if err != nil || reqs == nil || len(reqs) != 0 {
			t.Errorf("%s: Requests = %#v, %v; want an empty, non-nil list", step, reqs, err)
		}
		if err := ac.ResetLog(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
