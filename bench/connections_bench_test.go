//go:build linux

package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/akvvm/akvvm/internal/emulator"
)

// BenchmarkConnections runs "akvvm sync --once", an initial sync of N
// certificates into an empty store, against an "akvvm emulator" process
// that offers HTTP/2 and HTTP/1.1 by ALPN, as Key Vault does (proto=h2), or
// HTTP/1.1 alone (proto=http1, --http1-only), and reports per sync what the
// emulator counted (its admin API's connections and counts):
//
//   - handshakes/op: TLS handshakes for the vault's host name;
//   - h2-handshakes/op: those that negotiated HTTP/2;
//   - accepted/op: TCP connections accepted (the admin client reuses its own);
//   - req/op: vault requests (401 challenges included);
//   - max-handshakes: the most of any one sync.
//
// The emulator is the release build of this tree ($AKVVM_BENCH_BIN or built
// here); the agent is $AKVVM_BENCH_AGENT_BIN when set, such as an older
// build to compare with, otherwise the same binary.
func BenchmarkConnections(b *testing.B) {
	bin := releaseBinary(b)
	agentBin := bin
	if p := os.Getenv("AKVVM_BENCH_AGENT_BIN"); p != "" {
		agentBin = p
	}
	const most = 1000
	for _, proto := range []string{"h2", "http1"} {
		b.Run("proto="+proto, func(b *testing.B) {
			var extra []string
			if proto == "http1" {
				extra = []string{"--http1-only"}
			}
			emu := startEmulatorProcess(b, bin, most, extra...)
			admin, err := emulator.NewAdminClient(emu.AdminURL, emu.CAFile)
			if err != nil {
				b.Fatal(err)
			}
			for _, n := range []int{200, most} {
				b.Run(fmt.Sprintf("certs=%d", n), func(b *testing.B) { measureConnections(b, agentBin, emu, admin, n) })
			}
		})
	}
}

// measureConnections runs initial syncs of the first n certificates and
// reports the emulator's connection counters per sync.
func measureConnections(b *testing.B, agentBin string, emu emulator.ReadyInfo, admin *emulator.AdminClient, n int) {
	ctx := context.Background()
	host := rssVault + ".vault.azure.net"
	var syncs, handshakes, h2, accepted, requests, most int
	for b.Loop() {
		b.StopTimer()
		dir := storeDir(b)
		settings := connSettings(b, emu, dir, n)
		if err := admin.ResetLog(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		cmd := exec.Command(agentBin, "sync", "--once", "--settings", settings, "--state-dir", b.TempDir(),
			"--log-level", "warn", "--connect-to", "*.vault.azure.net="+emu.HTTPSAddr, "--ca-file", emu.CAFile)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("akvvm sync --once: %v\n%s", err, tail(string(out)))
		}
		b.StopTimer()
		conns, err := admin.Connections(ctx)
		if err != nil {
			b.Fatal(err)
		}
		counts, err := admin.Counts(ctx)
		if err != nil {
			b.Fatal(err)
		}
		hs := conns.Total(host)
		for _, h := range conns.Handshakes {
			if h.ServerName == host && h.Protocol == "h2" {
				h2 += h.Count
			}
		}
		for _, c := range counts {
			if c.Vault == rssVault {
				requests += c.Count
			}
		}
		syncs++
		handshakes += hs
		accepted += conns.Accepted
		most = max(most, hs)
		_ = os.RemoveAll(dir)
		b.StartTimer()
	}
	per := func(v int) float64 { return float64(v) / float64(syncs) }
	b.ReportMetric(per(handshakes), "handshakes/op")
	b.ReportMetric(per(h2), "h2-handshakes/op")
	b.ReportMetric(per(accepted), "accepted/op")
	b.ReportMetric(per(requests), "req/op")
	b.ReportMetric(float64(most), "max-handshakes")
}

// connSettings writes Linux 3.0 settings observing cert00000 … of the
// emulator's vault into dir and returns the file.
func connSettings(b *testing.B, emu emulator.ReadyInfo, dir string, n int) string {
	b.Helper()
	observed := make([]map[string]any, 0, n)
	for i := range n {
		observed = append(observed, map[string]any{
			"url":                      fmt.Sprintf("https://%s.vault.azure.net/secrets/cert%05d", rssVault, i),
			"certificateStoreLocation": dir,
		})
	}
	data, err := json.Marshal(map[string]any{
		"secretsManagementSettings": map[string]any{"pollingIntervalInS": "3600", "requireInitialSync": true, "observedCertificates": observed},
		"authenticationSettings":    map[string]any{"msiEndpoint": emu.IMDSEndpoint},
	})
	if err != nil {
		b.Fatal(err)
	}
	file := filepath.Join(b.TempDir(), "settings.json")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		b.Fatal(err)
	}
	return file
}
