package emulator

import (
	"context"
	"io"
	"net/http"
	"testing"
)

// BenchmarkGetSecret measures one authenticated get through TLS and routing,
// the cost the agent pays per changed certificate.
func BenchmarkGetSecret(b *testing.B) {
	e, err := New(Config{ThrottleLimit: -1})
	if err != nil {
		b.Fatal(err)
	}
	if err := e.Start(); err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	if _, err := e.CreateVault(VaultSpec{Name: "bench"}); err != nil {
		b.Fatal(err)
	}
	if _, err := e.SetSecret("bench", "s", SecretSpec{Value: "value"}); err != nil {
		b.Fatal(err)
	}
	c := httpClient(b, e)
	tok, err := fetchToken(context.Background(), http.DefaultClient, e.IMDSEndpoint(), "https://vault.azure.net", "")
	if err != nil {
		b.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodGet, "https://bench.vault.azure.net/secrets/s?api-version=7.5", nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	b.ResetTimer()
	for b.Loop() {
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
