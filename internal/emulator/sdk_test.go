package emulator

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

// TestSDKFlow drives the official azsecrets client with challenge-resource
// verification on, through routing and the emulator CA only.
func TestSDKFlow(t *testing.T) {
	e := startEmulator(t, Config{})
	mustVault(t, e, VaultSpec{Name: "myvault"})
	cred := newCred(e, "")
	c := sdkClient(t, e, "https://myvault.vault.azure.net", cred)
	ctx := context.Background()

	set, err := c.SetSecret(ctx, "app-secret", azsecrets.SetSecretParameters{Value: to.Ptr("v0"), ContentType: to.Ptr("text/plain")}, nil)
	if err != nil {
		t.Fatalf("SetSecret: %v", err)
	}
	// The first request goes out unauthenticated, the 401 challenge leads to one token.
	reqs := e.Requests()
	if len(reqs) != 3 {
		t.Fatalf("request log after first call = %+v, want 401, token, 200", reqs)
	}
	if reqs[0].Op != OpSetSecret || reqs[0].Status != http.StatusUnauthorized || reqs[0].ClientID != "" {
		t.Errorf("first request = %+v, want unauthenticated setSecret answered 401", reqs[0])
	}
	if reqs[1].Op != OpToken || reqs[1].Status != http.StatusOK || reqs[1].ClientID != SystemAssignedClientID {
		t.Errorf("second request = %+v, want a token for the system-assigned identity", reqs[1])
	}
	if reqs[2].Op != OpSetSecret || reqs[2].Status != http.StatusOK || reqs[2].ClientID != SystemAssignedClientID {
		t.Errorf("third request = %+v, want authenticated setSecret", reqs[2])
	}
	first := set.ID.Version()
	if len(first) != 32 {
		t.Errorf("version %q is not 32 hex digits", first)
	}

	// 30 more versions: list versions must page (25 per page).
	var last string
	for i := 1; i <= 30; i++ {
		r, err := c.SetSecret(ctx, "app-secret", azsecrets.SetSecretParameters{Value: to.Ptr(fmt.Sprintf("v%d", i))}, nil)
		if err != nil {
			t.Fatalf("SetSecret %d: %v", i, err)
		}
		last = r.ID.Version()
	}
	latest, err := c.GetSecret(ctx, "app-secret", "", nil)
	if err != nil {
		t.Fatalf("GetSecret latest: %v", err)
	}
	if *latest.Value != "v30" || latest.ID.Version() != last {
		t.Errorf("latest = %q version %s, want v30 version %s", *latest.Value, latest.ID.Version(), last)
	}
	old, err := c.GetSecret(ctx, "app-secret", first, nil)
	if err != nil {
		t.Fatalf("GetSecret by version: %v", err)
	}
	if *old.Value != "v0" || *old.ContentType != "text/plain" || !*old.Attributes.Enabled || old.Attributes.Created == nil {
		t.Errorf("first version = %q %v %+v", *old.Value, old.ContentType, old.Attributes)
	}

	pages, versions := 0, map[string]bool{}
	pager := c.NewListSecretPropertiesVersionsPager("app-secret", nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("list versions page %d: %v", pages, err)
		}
		pages++
		for _, p := range page.Value {
			versions[p.ID.Version()] = true
		}
	}
	if pages != 2 || len(versions) != 31 || !versions[first] || !versions[last] {
		t.Errorf("list versions: %d pages, %d versions; want 2 pages, 31 versions", pages, len(versions))
	}

	for i := range 26 {
		if _, err := e.SetSecret("myvault", fmt.Sprintf("s%02d", i), SecretSpec{Value: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	pages, names := 0, map[string]bool{}
	lp := c.NewListSecretPropertiesPager(nil)
	for lp.More() {
		page, err := lp.NextPage(ctx)
		if err != nil {
			t.Fatalf("list secrets: %v", err)
		}
		pages++
		for _, p := range page.Value {
			names[p.ID.Name()] = true
		}
	}
	if pages != 2 || len(names) != 27 || !names["app-secret"] {
		t.Errorf("list secrets: %d pages, %d names; want 2 pages, 27 names", pages, len(names))
	}
	if n := cred.calls.Load(); n != 1 {
		t.Errorf("token requests = %d, want 1 (the token is cached)", n)
	}
	if n := e.Count(OpToken, ""); n != 1 {
		t.Errorf("Count(token) = %d, want 1", n)
	}
}

func TestSDKErrors(t *testing.T) {
	const reader = "11111111-2222-4333-8444-555555555555"
	e := startEmulator(t, Config{})
	if err := e.AddIdentity(reader); err != nil {
		t.Fatal(err)
	}
	mustVault(t, e, VaultSpec{Name: "locked", Access: map[string][]Permission{reader: {PermList}}})
	mustVault(t, e, VaultSpec{Name: "open"})
	ctx := context.Background()
	for _, v := range []string{"locked", "open"} {
		if _, err := e.SetSecret(v, "db", SecretSpec{Value: "pw"}); err != nil {
			t.Fatal(err)
		}
	}
	locked := sdkClient(t, e, "https://locked.vault.azure.net", newCred(e, reader))
	open := sdkClient(t, e, "https://open.vault.azure.net/", newCred(e, ""))

	// list is granted, get is not.
	if _, err := locked.NewListSecretPropertiesPager(nil).NextPage(ctx); err != nil {
		t.Errorf("list with list permission: %v", err)
	}
	_, err := locked.GetSecret(ctx, "db", "", nil)
	if st, code := responseErrorCode(t, err); st != http.StatusForbidden || code != "Forbidden" {
		t.Errorf("get without permission = %d %s, want 403 Forbidden", st, code)
	}
	_, err = open.GetSecret(ctx, "nope", "", nil)
	if st, code := responseErrorCode(t, err); st != http.StatusNotFound || code != "SecretNotFound" {
		t.Errorf("get missing = %d %s, want 404 SecretNotFound", st, code)
	}

	// Disable the latest version through the SDK: getting it is 403.
	got, err := open.GetSecret(ctx, "db", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := open.UpdateSecretProperties(ctx, "db", got.ID.Version(), azsecrets.UpdateSecretPropertiesParameters{
		SecretAttributes: &azsecrets.SecretAttributes{Enabled: to.Ptr(false)}}, nil); err != nil {
		t.Fatalf("UpdateSecretProperties: %v", err)
	}
	_, err = open.GetSecret(ctx, "db", got.ID.Version(), nil)
	if st, code := responseErrorCode(t, err); st != http.StatusForbidden || code != "Forbidden" {
		t.Errorf("get disabled = %d %s, want 403 Forbidden", st, code)
	}
	// The body is Key Vault's, byte for byte: the reason is the inner code.
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		body, _ := runtime.Payload(re.RawResponse)
		want := `{"error":{"code":"Forbidden","message":"Operation get is not allowed on a disabled secret.","innererror":{"code":"SecretDisabled"}}}`
		if string(body) != want {
			t.Errorf("get disabled body = %s, want %s", body, want)
		}
	}

	// Delete returns the bundle; the secret is then gone.
	del, err := open.DeleteSecret(ctx, "db", nil)
	if err != nil {
		t.Fatalf("DeleteSecret: %v", err)
	}
	if del.ID.Name() != "db" || del.RecoveryID == nil {
		t.Errorf("deleted bundle = %+v", del.DeletedSecret)
	}
	_, err = open.GetSecret(ctx, "db", "", nil)
	if st, code := responseErrorCode(t, err); st != http.StatusNotFound || code != "SecretNotFound" {
		t.Errorf("get deleted = %d %s, want 404 SecretNotFound", st, code)
	}
}

func TestSDKSovereignCloud(t *testing.T) {
	e := startEmulator(t, Config{})
	mustVault(t, e, VaultSpec{Name: "cnvault", Cloud: "china"})
	if got := e.VaultURL("cnvault"); got != "https://cnvault.vault.azure.cn" {
		t.Errorf("VaultURL = %s", got)
	}
	c := sdkClient(t, e, e.VaultURL("cnvault"), newCred(e, ""))
	if _, err := c.SetSecret(context.Background(), "x", azsecrets.SetSecretParameters{Value: to.Ptr("y")}, nil); err != nil {
		t.Fatalf("SetSecret on a China vault: %v", err)
	}
	// The same name in the public cloud is another (missing) vault.
	pub := sdkClient(t, e, "https://cnvault.vault.azure.net", newCred(e, ""))
	_, err := pub.GetSecret(context.Background(), "x", "", nil)
	if st, code := responseErrorCode(t, err); st != http.StatusNotFound || code != "VaultNotFound" {
		t.Errorf("public-cloud twin = %d %s, want 404 VaultNotFound", st, code)
	}
}
