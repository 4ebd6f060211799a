//go:build linux

// Package bench measures akvvm's agent against the in-process emulator:
// time, allocations and Key Vault requests per pass. Run bench/run.sh; it
// writes the results to bench/results/.
package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/emulator"
	"github.com/akvvm/akvvm/internal/identity"
	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/store"
	"github.com/akvvm/akvvm/internal/store/filestore"
	"github.com/akvvm/akvvm/internal/transport"
)

const benchVault = "benchvault"

// setup starts an emulator with n certificates and returns an agent that
// observes them through the production collaborators.
func setup(b *testing.B, n int) (*emulator.Emulator, *agent.Agent) {
	b.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	emu, err := emulator.New(emulator.Config{Logger: log, ThrottleLimit: -1})
	if err != nil {
		b.Fatal(err)
	}
	if err := emu.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = emu.Close() })
	if _, err := emu.CreateVault(emulator.VaultSpec{Name: benchVault}); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	spec := agent.Spec{Interval: time.Hour, Versions: 1, Keep: 2, InitialSync: agent.InitialSync{Wait: true, MaxAttempts: 25}}
	for i := range n {
		name := fmt.Sprintf("cert%03d", i)
		if _, err := emu.CreateCertificate(benchVault, name, emulator.CertificateSpec{KeyType: "EC-P256", DNSNames: []string{name + ".example.com"}}); err != nil {
			b.Fatal(err)
		}
		spec.Certificates = append(spec.Certificates, agent.CertSpec{
			Ref: store.Ref{Vault: benchVault, Name: name}, VaultURL: emu.VaultURL(benchVault),
			URL: emu.VaultURL(benchVault) + "/secrets/" + name, Target: store.Target{Location: dir},
		})
	}
	topts := emu.TransportOptions()
	httpClient, err := transport.NewClient(topts, transport.ClientConfig{})
	if err != nil {
		b.Fatal(err)
	}
	cred, err := identity.New(identity.Options{Endpoint: emu.IMDSEndpoint(), HTTPClient: httpClient})
	if err != nil {
		b.Fatal(err)
	}
	a, err := agent.New(spec, agent.Deps{
		Source: keyvault.NewClients(cred, keyvault.Options{HTTPClient: httpClient}),
		Store:  filestore.New(filestore.Options{Logger: log}),
		Logger: log,
	})
	if err != nil {
		b.Fatal(err)
	}
	return emu, a
}

// BenchmarkUnchangedPoll is the steady state: every certificate is
// installed and nothing changed in the vault. Goal: one metadata request
// per certificate and no download.
func BenchmarkUnchangedPoll(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("certs=%d", n), func(b *testing.B) {
			emu, a := setup(b, n)
			if st := a.SyncOnce(context.Background()); st.Phase != agent.Success {
				b.Fatalf("initial sync: %s", st.Message)
			}
			emu.ResetLog()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				a.SyncOnce(context.Background())
			}
			b.StopTimer()
			b.ReportMetric(float64(emu.Count(emulator.OpListVersions, ""))/float64(b.N)/float64(n), "lists/cert/pass")
			b.ReportMetric(float64(emu.Count(emulator.OpGetSecret, ""))/float64(b.N), "gets/pass")
		})
	}
}

// BenchmarkInitialSync installs every certificate into an empty store.
func BenchmarkInitialSync(b *testing.B) {
	const n = 20
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		emu, a := setup(b, n)
		b.StartTimer()
		if st := a.SyncOnce(context.Background()); st.Phase != agent.Success {
			b.Fatalf("initial sync: %s", st.Message)
		}
		b.StopTimer()
		b.ReportMetric(float64(emu.Count(emulator.OpGetSecret, ""))/n, "gets/cert")
		b.StartTimer()
	}
}
