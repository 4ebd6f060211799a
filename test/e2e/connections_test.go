//go:build linux

package e2e

import (
	"fmt"
	"testing"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/emulator"
)

// TestSyncKeepsOneConnectionPerWorker syncs 200 certificates of one vault
// and counts the TLS handshakes the emulator accepted for the vault's host.
//
// Over HTTP/1.1 (the emulator offering nothing else, as a proxy that cannot
// speak HTTP/2) the bound is 2 × Concurrency. The agent sends at most
// Concurrency requests to a vault at once (its probe first, alone, then the
// workers), so it needs a connection per worker. A request dials another
// only when it finds none idle: in the first moments of the pass, while a
// connection another worker freed is still on its way back to Go's pool.
// The client keeps Concurrency + 1 idle (transport.IdleConnsPerHost), so a
// connection such a race leaves is kept, none is closed for want of room,
// and once Concurrency + 1 are open a request always finds one idle
// (transport's TestClientKeepsAConnectionPerWorker). The bound leaves room
// for a race per worker; measured: 4 or 5. With Go's default of 2 idle
// connections per host, connections are closed and reopened all pass long:
// 18 handshakes on average for 200 certificates, 68 for 1,000.
//
// Offered HTTP/2, as by Key Vault, the agent negotiates it and every request
// shares one connection: the probe's, open before any worker starts.
func TestSyncKeepsOneConnectionPerWorker(t *testing.T) {
	const n = 200
	for _, tc := range []struct {
		name     string
		flags    []string
		protocol string
		most     int
	}{
		{"HTTP/2 offered, as Key Vault", nil, "h2", 1},
		{"HTTP/1.1 only", []string{"--http1-only"}, "http/1.1", 2 * agent.DefaultConcurrency},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startEmulatorFlags(t, tc.flags, "connvault")
			b := newBox(t)
			var certs []map[string]any
			for i := range n {
				name := fmt.Sprintf("conn%03d", i)
				e.create(t, "connvault", name, emulator.CertificateSpec{KeyType: "EC-P256", DNSNames: []string{name + ".example.com"}})
				certs = append(certs, map[string]any{"url": "https://connvault.vault.azure.net/secrets/" + name})
			}
			b.writeSettings(t, e, certs...)
			if err := e.admin.ResetLog(t.Context()); err != nil {
				t.Fatal(err)
			}
			if out, code := b.sync(t, e); code != 0 {
				t.Fatalf("sync --once: exit %d\n%s", code, out)
			}
			if got := len(e.requests(t, emulator.OpGetSecret)); got != n {
				t.Errorf("%d gets, want %d", got, n)
			}
			conns, err := e.admin.Connections(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			const host = "connvault.vault.azure.net"
			total := conns.Total(host)
			if total < 1 || total > tc.most {
				t.Errorf("%d TLS handshakes with %s for %d certificates, want 1 to %d: %+v", total, host, n, tc.most, conns.Handshakes)
			}
			for _, h := range conns.Handshakes {
				if h.ServerName == host && h.Protocol != tc.protocol {
					t.Errorf("%d handshakes negotiated %q, want %q", h.Count, h.Protocol, tc.protocol)
				}
			}
			t.Logf("%d handshakes for %d certificates, %d connections accepted: %+v", total, n, conns.Accepted, conns.Handshakes)
		})
	}
}
