//go:build linux

package bench

import (
	"context"
	"fmt"
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

// detectionCase is one vault and the secrets an agent observes in it.
type detectionCase struct {
	name     string
	observed int // certificates observed (one version each, but the first)
	versions int // versions of the first observed secret
	filler   int // plain secrets in the vault besides the observed ones
}

var detectionCases = []detectionCase{
	{name: "1-secret-1-version", observed: 1, versions: 1},
	{name: "1-secret-60-versions", observed: 1, versions: 60},
	{name: "200-of-200", observed: 200, versions: 1},
	{name: "2-of-2000", observed: 2, versions: 1, filler: 1998},
}

// BenchmarkDetection measures what an unchanged poll costs in requests,
// per change detection strategy, with the real agent (production
// collaborators, filestore) against an emulator of its own: "auto" is the
// agent's choice (docs/architecture.md, "Change detection"), "per-secret"
// the same agent with the vault's list of secrets refused (a 403 fault),
// which is what every poll cost before the choice existed. One op is one
// unchanged pass over every observed certificate, after warm-up passes
// that let the agent learn the vault; req/poll counts every request the
// emulator received in the timed passes, per pass, and warmup-vaultpages
// the vault listing's pages the warm-up read (what learning cost).
func BenchmarkDetection(b *testing.B) {
	for _, tc := range detectionCases {
		b.Run(tc.name, func(b *testing.B) {
			emu, names := detectionVault(b, tc)
			for _, strategy := range []string{"auto", "per-secret"} {
				b.Run(strategy, func(b *testing.B) { detectionPasses(b, emu, names, strategy) })
			}
		})
	}
}

// detectionVault starts an emulator (throttling off) with the case's vault.
func detectionVault(b *testing.B, tc detectionCase) (*emulator.Emulator, []string) {
	b.Helper()
	emu, err := emulator.New(emulator.Config{Logger: discard, ThrottleLimit: -1})
	if err == nil {
		err = emu.Start()
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = emu.Close() })
	if _, err := emu.CreateVault(emulator.VaultSpec{Name: benchVault}); err != nil {
		b.Fatal(err)
	}
	if tc.filler > 0 {
		if _, err := emu.FillSecrets(benchVault, emulator.FillSpec{Prefix: "filler", Count: tc.filler}); err != nil {
			b.Fatal(err)
		}
	}
	var names []string
	for i := range tc.observed {
		name := fmt.Sprintf("cert%03d", i)
		spec := emulator.CertificateSpec{KeyType: "EC-P256", DNSNames: []string{name + ".example.com"}}
		if _, err := emu.CreateCertificate(benchVault, name, spec); err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			for range tc.versions - 1 {
				if _, err := emu.RotateCertificate(benchVault, name); err != nil {
					b.Fatal(err)
				}
			}
		}
		names = append(names, name)
	}
	if tc.versions > 1 {
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
		if _, err := emu.RotateCertificate(benchVault, names[0]); err != nil { // newest alone in its second
			b.Fatal(err)
		}
	}
	return emu, names
}

// detectionPasses times unchanged passes of one agent over names.
func detectionPasses(b *testing.B, emu *emulator.Emulator, names []string, strategy string) {
	emu.ClearFaults()
	if strategy == "per-secret" {
		if _, err := emu.AddFault(emulator.Fault{Op: emulator.OpListSecrets, Kind: emulator.FaultStatus, Status: 403}); err != nil {
			b.Fatal(err)
		}
	}
	httpClient, err := transport.NewClient(emu.TransportOptions(), transport.ClientConfig{})
	if err != nil {
		b.Fatal(err)
	}
	cred, err := identity.New(identity.Options{Endpoint: emu.IMDSEndpoint(), HTTPClient: httpClient})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	spec := agent.Spec{Interval: time.Hour, Versions: 1, Keep: 2, InitialSync: agent.InitialSync{Wait: true, MaxAttempts: 25}}
	vaultURL := emu.VaultURL(benchVault)
	for _, name := range names {
		spec.Certificates = append(spec.Certificates, agent.CertSpec{
			Ref: store.Ref{Vault: benchVault, Name: name}, VaultURL: vaultURL,
			URL: vaultURL + "/secrets/" + name, Target: store.Target{Location: dir},
		})
	}
	a, err := agent.New(spec, agent.Deps{
		Source: keyvault.NewClients(cred, keyvault.Options{HTTPClient: httpClient}),
		Store:  filestore.New(filestore.Options{Logger: discard}), Logger: discard, Concurrency: concurrency,
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// First install, first listing, learning the vault, first sight of the
	// items: the passes before the steady state.
	for range 4 {
		if st := a.SyncOnce(ctx); st.Phase != agent.Success {
			b.Fatalf("warm-up pass: %s", st.Message)
		}
	}
	learned := emu.Count(emulator.OpListSecrets, "")
	emu.ResetLog()
	b.ResetTimer()
	for range b.N {
		if st := a.SyncOnce(ctx); st.Phase != agent.Success {
			b.Fatalf("unchanged pass: %s", st.Message)
		}
	}
	b.StopTimer()
	polls := float64(b.N)
	b.ReportMetric(float64(emu.Count("", ""))/polls, "req/poll")
	b.ReportMetric(float64(emu.Count(emulator.OpListSecrets, ""))/polls, "vaultpages/poll")
	b.ReportMetric(float64(emu.Count(emulator.OpListVersions, ""))/polls, "versionlists/poll")
	b.ReportMetric(float64(emu.Count(emulator.OpGetSecret, ""))/polls, "gets/poll")
	b.ReportMetric(float64(learned), "warmup-vaultpages")
	if d := a.Status().Detection; len(d) == 1 {
		b.Logf("strategy %s: per-secret cost %d, vault listing %s", d[0].Strategy, d[0].PerSecretRequests, d[0].VaultListRequests)
	}
}
