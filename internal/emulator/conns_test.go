package emulator

import (
	"context"
	"io"
	"net/http"
	"testing"
)

// get sends n GETs of the health endpoint under host, one after another,
// and returns the protocol of the last answer.
func getHealth(t *testing.T, c *http.Client, host string, n int) string {
	t.Helper()
	var proto string
	for range n {
		resp, err := c.Get("https://" + host + adminPrefix + "health")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		proto = resp.Proto
	}
	return proto
}

func TestConnectionsCountsHandshakesByServerNameAndProtocol(t *testing.T) {
	for _, tc := range []struct {
		name      string
		http1Only bool
		proto     string // of the answers
		alpn      string // negotiated
	}{
		{"HTTP/2 offered, as Key Vault", false, "HTTP/2.0", "h2"},
		{"HTTP/1.1 only", true, "HTTP/1.1", "http/1.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startEmulator(t, Config{HTTP1Only: tc.http1Only})
			c := httpClient(t, e)
			if got := getHealth(t, c, "myvault.vault.azure.net", 3); got != tc.proto {
				t.Errorf("answered over %s, want %s", got, tc.proto)
			}
			getHealth(t, c, "other.vault.azure.net", 1)
			got := e.Connections()
			want := []Handshakes{
				{ServerName: "myvault.vault.azure.net", Protocol: tc.alpn, Count: 1},
				{ServerName: "other.vault.azure.net", Protocol: tc.alpn, Count: 1},
			}
			if got.Accepted != 2 || len(got.Handshakes) != 2 || got.Handshakes[0] != want[0] || got.Handshakes[1] != want[1] {
				t.Errorf("Connections = %+v, want 2 accepted and %+v", got, want)
			}
			if n := got.Total("MyVault.vault.azure.net"); n != 1 {
				t.Errorf("Total(myvault) = %d, want 1", n)
			}
			if v := got.Handshakes[0].Vault(); v != "myvault" {
				t.Errorf("Vault() = %q", v)
			}

			// The admin API answers the same counters, and ResetLog empties them.
			ac, err := NewAdminClient(e.AdminURL(), e.CAFile())
			if err != nil {
				t.Fatal(err)
			}
			viaAdmin, err := ac.Connections(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if viaAdmin.Total("myvault.vault.azure.net") != 1 || viaAdmin.Accepted != 3 {
				t.Errorf("admin Connections = %+v, want myvault's handshake and 3 accepted (the admin client's own)", viaAdmin)
			}
			if err := ac.ResetLog(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := e.Connections(); got.Accepted != 0 || len(got.Handshakes) != 0 {
				t.Errorf("after ResetLog: %+v", got)
			}
		})
	}
}
