package emulator

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestVaultAuthentication(t *testing.T) {
	clock := newFakeClock()
	e := startEmulator(t, Config{Now: clock.Now, TokenLifetime: time.Hour})
	mustVault(t, e, VaultSpec{Name: "myvault"})
	if _, err := e.SetSecret("myvault", "s", SecretSpec{Value: "v"}); err != nil {
		t.Fatal(err)
	}
	other := startEmulator(t, Config{Now: clock.Now})
	c := httpClient(t, e)
	const u = "https://myvault.vault.azure.net/secrets/s?api-version=7.5"

	good := mustToken(t, e, "https://vault.azure.net", "")
	parts := strings.Split(good, ".")
	forged := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
	// Same claims shape but the payload of a China-cloud token with the public signature.
	china := mustToken(t, e, "https://vault.azure.cn", "")
	swapped := parts[0] + "." + strings.Split(china, ".")[1] + "." + parts[2]

	tests := []struct {
		name    string
		token   func() string
		advance time.Duration
		want    int
	}{
		{"valid token", func() string { return good }, 0, http.StatusOK},
		{"valid token with trailing-slash audience", func() string { return mustToken(t, e, "https://vault.azure.net/", "") }, 0, http.StatusOK},
		{"no token", func() string { return "" }, 0, http.StatusUnauthorized},
		{"not a JWT", func() string { return "hello" }, 0, http.StatusUnauthorized},
		{"forged signature", func() string { return forged }, 0, http.StatusUnauthorized},
		{"claims swapped under a valid signature", func() string { return swapped }, 0, http.StatusUnauthorized},
		{"token of another emulator", func() string { return mustToken(t, other, "https://vault.azure.net", "") }, 0, http.StatusUnauthorized},
		{"wrong audience: China cloud", func() string { return china }, 0, http.StatusUnauthorized},
		{"wrong audience: management", func() string { return mustToken(t, e, "https://management.azure.com/", "") }, 0, http.StatusUnauthorized},
		{"expired token", func() string { return mustToken(t, e, "https://vault.azure.net", "") }, time.Hour + clockSkew + time.Second, http.StatusUnauthorized},
		{"token within clock skew after expiry", func() string { return mustToken(t, e, "https://vault.azure.net", "") }, time.Hour + time.Minute, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := tt.token()
			clock.Advance(tt.advance)
			r := rawRequest(t, c, http.MethodGet, u, tok, "")
			if r.err != nil || r.status != tt.want {
				t.Fatalf("status = %d (%v), want %d; body %s", r.status, r.err, tt.want, r.body)
			}
			if tt.want != http.StatusUnauthorized {
				return
			}
			want := `Bearer authorization="https://login.microsoftonline.com/` + DefaultTenant + `", resource="https://vault.azure.net"`
			if got := r.header.Get("WWW-Authenticate"); got != want {
				t.Errorf("WWW-Authenticate = %q, want %q", got, want)
			}
			if r.errorCode() != "Unauthorized" {
				t.Errorf("error code = %q, want Unauthorized", r.errorCode())
			}
			if tok != "" && strings.Contains(string(r.body), tok) {
				t.Error("the 401 body quotes the token")
			}
		})
	}
}

func TestChallengePerCloud(t *testing.T) {
	e := startEmulator(t, Config{Tenant: "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"})
	mustVault(t, e, VaultSpec{Name: "govvault", Cloud: "usgov"})
	r := rawRequest(t, httpClient(t, e), http.MethodGet, "https://govvault.vault.usgovcloudapi.net/secrets?api-version=7.5", "", "")
	want := `Bearer authorization="https://login.microsoftonline.us/aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", resource="https://vault.usgovcloudapi.net"`
	if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") != want {
		t.Errorf("got %d %q, want 401 %q", r.status, r.header.Get("WWW-Authenticate"), want)
	}
}

func TestVaultRequestValidation(t *testing.T) {
	e := startEmulator(t, Config{})
	mustVault(t, e, VaultSpec{Name: "myvault"})
	c := httpClient(t, e)
	tok := mustToken(t, e, "https://vault.azure.net", "")
	tests := []struct {
		name, method, url, body string
		status                  int
		code                    string
	}{
		{"missing api-version", "GET", "https://myvault.vault.azure.net/secrets/a", "", 400, "BadParameter"},
		{"any api-version is accepted", "GET", "https://myvault.vault.azure.net/secrets?api-version=2026-04-01", "", 200, ""},
		{"old api-version is accepted", "GET", "https://myvault.vault.azure.net/secrets?api-version=2016-10-01", "", 200, ""},
		{"missing vault", "GET", "https://nosuch.vault.azure.net/secrets?api-version=7.5", "", 404, "VaultNotFound"},
		{"invalid secret name", "GET", "https://myvault.vault.azure.net/secrets/bad_name?api-version=7.5", "", 400, "BadParameter"},
		{"set without value", "PUT", "https://myvault.vault.azure.net/secrets/a?api-version=7.5", `{"contentType":"x"}`, 400, "BadParameter"},
		{"set with bad JSON", "PUT", "https://myvault.vault.azure.net/secrets/a?api-version=7.5", `{`, 400, "BadParameter"},
		{"set too large", "PUT", "https://myvault.vault.azure.net/secrets/a?api-version=7.5", `{"value":"` + strings.Repeat("x", 26000) + `"}`, 400, "BadParameter"},
		{"bad maxresults", "GET", "https://myvault.vault.azure.net/secrets?api-version=7.5&maxresults=26", "", 400, "BadParameter"},
		{"bad skiptoken", "GET", "https://myvault.vault.azure.net/secrets?api-version=7.5&$skiptoken=zz", "", 400, "BadParameter"},
		{"keys API", "GET", "https://myvault.vault.azure.net/keys/k?api-version=7.5", "", 501, "NotImplemented"},
		{"wrong method", "POST", "https://myvault.vault.azure.net/secrets/a?api-version=7.5", "", 405, "MethodNotAllowed"},
		{"missing version", "GET", "https://myvault.vault.azure.net/secrets/a/0123456789abcdef0123456789abcdef?api-version=7.5", "", 404, "SecretNotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rawRequest(t, c, tt.method, tt.url, tok, tt.body)
			if r.err != nil || r.status != tt.status || r.errorCode() != tt.code {
				t.Errorf("got %d %q (%v), want %d %q; body %.200s", r.status, r.errorCode(), r.err, tt.status, tt.code, r.body)
			}
		})
	}
}

func TestNextLinkIsFullURL(t *testing.T) {
	e := startEmulator(t, Config{})
	mustVault(t, e, VaultSpec{Name: "myvault"})
	for range 3 {
		if _, err := e.SetSecret("myvault", "a", SecretSpec{Value: "v"}); err != nil {
			t.Fatal(err)
		}
	}
	c := httpClient(t, e)
	tok := mustToken(t, e, "https://vault.azure.net", "")
	r := rawRequest(t, c, "GET", "https://myvault.vault.azure.net/secrets/a/versions?api-version=7.6&maxresults=2", tok, "")
	var page secretList
	if err := jsonUnmarshal(r.body, &page); err != nil || len(page.Value) != 2 || page.NextLink == nil {
		t.Fatalf("first page = %s (%v)", r.body, err)
	}
	if !strings.HasPrefix(*page.NextLink, "https://myvault.vault.azure.net/secrets/a/versions?api-version=7.6&$skiptoken=") {
		t.Errorf("nextLink = %s, want a full URL on the vault host with api-version", *page.NextLink)
	}
	r = rawRequest(t, c, "GET", *page.NextLink, tok, "")
	page = secretList{}
	if err := jsonUnmarshal(r.body, &page); err != nil || len(page.Value) != 1 || page.NextLink != nil {
		t.Errorf("last page = %s (%v), want one item and nextLink null", r.body, err)
	}
	if !strings.Contains(string(r.body), `"nextLink":null`) {
		t.Errorf("last page does not carry nextLink null: %s", r.body)
	}
}
