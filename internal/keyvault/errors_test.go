package keyvault

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/akvvm/akvvm/internal/emulator"
	"github.com/akvvm/akvvm/internal/identity"
	"github.com/akvvm/akvvm/internal/transport"
)

// vaultFixture is the official SDK through Clients against the emulator,
// with azcore's retries off so that each fault is seen once.
type vaultFixture struct {
	e       *emulator.Emulator
	clients *Clients
	url     string
}

func newVaultFixture(t *testing.T) *vaultFixture {
	t.Helper()
	e := startVault(t)
	hc, err := transport.NewClient(e.TransportOptions(), transport.ClientConfig{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	// Fresh connections: Go's transport silently retries a GET whose reused
	// connection is reset.
	hc.Transport.(*http.Transport).DisableKeepAlives = true
	cred, err := identity.New(identity.Options{Endpoint: e.IMDSEndpoint(), HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	c := NewClients(cred, Options{HTTPClient: hc, Retry: policy.RetryOptions{MaxRetries: -1}})
	return &vaultFixture{e: e, clients: c, url: "https://myvault.vault.azure.net"}
}

// failedGet gets version of web and returns the Key Vault error.
func (f *vaultFixture) failedGet(t *testing.T, version string) *Error {
	t.Helper()
	_, err := f.clients.Get(context.Background(), f.url, "web", version)
	var kv *Error
	if !errors.As(err, &kv) {
		t.Fatalf("get: %v (%T), want a *keyvault.Error", err, err)
	}
	if len(kv.Error()) > 700 {
		t.Errorf("message of %d bytes, want a short one: %s", len(kv.Error()), kv)
	}
	return kv
}

func TestErrorNamesTheRealCause(t *testing.T) {
	f := newVaultFixture(t)
	first, err := f.e.CreateCertificate("myvault", "web", emulator.CertificateSpec{DNSNames: []string{"web.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.e.RotateCertificate("myvault", "web"); err != nil {
		t.Fatal(err)
	}
	if err := f.e.SetSecretEnabled("myvault", "web", first.Version, false); err != nil {
		t.Fatal(err)
	}

	t.Run("disabled version", func(t *testing.T) {
		kv := f.failedGet(t, first.Version)
		msg := kv.Error()
		if kv.StatusCode() != 403 || kv.ErrorCode() != CodeSecretDisabled || !kv.Disabled() || kv.AccessDenied() {
			t.Errorf("HTTP %d %s disabled=%v accessDenied=%v, want 403 SecretDisabled, disabled, not an access problem",
				kv.StatusCode(), kv.ErrorCode(), kv.Disabled(), kv.AccessDenied())
		}
		if !strings.Contains(msg, "HTTP 403 SecretDisabled: version "+first.Version+" is disabled in the vault; enable it") {
			t.Errorf("message %q does not say the version is disabled", msg)
		}
		if strings.Contains(msg, "access") || strings.Contains(msg, "grant") {
			t.Errorf("message %q sends the operator to permissions", msg)
		}
	})

	t.Run("access policy without the identity", func(t *testing.T) {
		if err := f.e.SetAccess("myvault", map[string][]emulator.Permission{"11111111-2222-4333-8444-555555555555": {emulator.PermGet}}); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = f.e.SetAccess("myvault", nil) }()
		kv := f.failedGet(t, "")
		if kv.ErrorCode() != CodeForbiddenByPolicy || !kv.AccessDenied() {
			t.Errorf("code %s accessDenied=%v, want ForbiddenByPolicy, an access problem", kv.ErrorCode(), kv.AccessDenied())
		}
		if !strings.Contains(kv.Error(), "HTTP 403 ForbiddenByPolicy: the vault's access policies do not let this identity read secrets") {
			t.Errorf("message %q", kv.Error())
		}
	})

	for _, tc := range []struct {
		name, inner, message string
		want                 []string
		access               bool
	}{
		{"firewall", CodeForbiddenByFirewall, "Client address is not authorized and caller is not a trusted service.\r\nClient address: 203.0.113.7\r\nCaller: appid=x\r\nVault: myvault;location=westeurope",
			[]string{"HTTP 403 ForbiddenByFirewall", "Client address: 203.0.113.7", "firewall refused this machine's address"}, false},
		{"private link only", CodeForbiddenByConnection, "Public network access is disabled and request is not from a trusted service nor via an approved private link.",
			[]string{"HTTP 403 ForbiddenByConnection", "only through its private endpoint"}, false},
		{"RBAC", CodeForbiddenByRbac, "Caller is not authorized to perform action on resource.",
			[]string{"HTTP 403 ForbiddenByRbac", "Key Vault Secrets User role"}, true},
		{"access denied", CodeAccessDenied, "Access denied.",
			[]string{"HTTP 403 AccessDenied", "Key Vault Secrets User role"}, true},
		{"403 without a reason", "", "Forbidden.",
			[]string{"HTTP 403 Forbidden", "lacks access"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := f.e.AddFault(emulator.Fault{Op: emulator.OpGetSecret, Kind: emulator.FaultStatus, Status: 403, InnerCode: tc.inner, Message: tc.message, Count: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer f.e.RemoveFault(id)
			kv := f.failedGet(t, "")
			if want := tc.inner; want != "" && kv.ErrorCode() != want {
				t.Errorf("code %s, want %s", kv.ErrorCode(), want)
			}
			if kv.AccessDenied() != tc.access {
				t.Errorf("AccessDenied() = %v, want %v", kv.AccessDenied(), tc.access)
			}
			for _, w := range tc.want {
				if !strings.Contains(kv.Error(), w) {
					t.Errorf("message %q does not contain %q", kv.Error(), w)
				}
			}
			if strings.ContainsAny(kv.Error(), "\r\n") {
				t.Errorf("message %q spans lines", kv.Error())
			}
		})
	}

	t.Run("a long message is cut", func(t *testing.T) {
		id, err := f.e.AddFault(emulator.Fault{Op: emulator.OpGetSecret, Kind: emulator.FaultStatus, Status: 500, Message: strings.Repeat("Something failed. ", 100), Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer f.e.RemoveFault(id)
		kv := f.failedGet(t, "") // failedGet checks the length
		if !strings.Contains(kv.Error(), "Something failed.") {
			t.Errorf("message %q lost Key Vault's words", kv.Error())
		}
	})

	for _, tc := range []struct {
		name string
		kind emulator.FaultKind
		want []string
	}{
		// A reset can reach the client as a reset or as a plain close; over
		// HTTP/2 Go reports a connection that ends under an open request as
		// an unexpected EOF, as on a new connection the reset can meet a
		// write of its opening frames first.
		{"connection reset", emulator.FaultReset, []string{"connection to myvault.vault.azure.net reset by the peer", "connection to myvault.vault.azure.net closed by the peer before any response arrived (EOF)",
			"connection to myvault.vault.azure.net closed before the response was complete (unexpected EOF)"}},
		{"truncated body", emulator.FaultTruncate, []string{"connection to myvault.vault.azure.net closed before the response was complete (unexpected EOF)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := f.e.AddFault(emulator.Fault{Op: emulator.OpGetSecret, Kind: tc.kind, Count: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer f.e.RemoveFault(id)
			kv := f.failedGet(t, "")
			msg := kv.Error()
			if !strings.HasPrefix(msg, "key vault: get secret web in https://myvault.vault.azure.net: connection to ") || !containsAny(msg, tc.want) {
				t.Errorf("message %q, want one of %q", msg, tc.want)
			}
			if strings.Contains(msg, "api-version") {
				t.Errorf("message %q carries the request URL", msg)
			}
			var ce *transport.ConnError
			if !errors.As(kv, &ce) || kv.StatusCode() != 0 {
				t.Errorf("not a connection error without a status: %T %d", kv.Err, kv.StatusCode())
			}
		})
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestParseBodyTakesTheInnermostCode(t *testing.T) {
	for _, tc := range []struct{ body, code, message string }{
		{`{"error":{"code":"Forbidden","message":"Operation get is not allowed on a disabled secret.","innererror":{"code":"SecretDisabled"}}}`, "SecretDisabled", "Operation get is not allowed on a disabled secret."},
		{`{"error":{"code":"Forbidden","message":"m","innererror":{"code":"A","innererror":{"code":"B"}}}}`, "B", "m"},
		{`{"error":{"code":"SecretNotFound","message":"A secret was not found."}}`, "SecretNotFound", "A secret was not found."},
		{`{"error":"flat"}`, "", ""},
		{`<html>bad gateway</html>`, "", ""},
		{``, "", ""},
	} {
		if code, msg := parseBody([]byte(tc.body)); code != tc.code || msg != tc.message {
			t.Errorf("parseBody(%s) = %q, %q; want %q, %q", tc.body, code, msg, tc.code, tc.message)
		}
	}
}
