//go:build linux

// Package bench measures akvvm's agent against the in-process emulator and
// against floors: bare loops over the official azsecrets client doing the
// least the job needs, run in the same process, on the same emulator, in the
// same run. Run bench/run.sh; it writes the results to bench/results/.
//
// Nothing here runs under a plain "go test ./..." (no -bench): the
// benchmarks build their emulator and certificates lazily.
package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/emulator"
	"github.com/akvvm/akvvm/internal/identity"
	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/store"
	"github.com/akvvm/akvvm/internal/store/filestore"
	"github.com/akvvm/akvvm/internal/transport"
)

const (
	benchVault = "benchvault"
	// concurrency is the agent's default (agent.Deps.Concurrency) and the
	// floors' worker count.
	concurrency = 4
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// shared is the one emulator of a benchmark run; every benchmark of the
// process uses it, so agent and floor meet the same server.
var shared struct {
	once  sync.Once
	err   error
	emu   *emulator.Emulator
	mu    sync.Mutex
	names []string // certificates created so far, in order
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.emu != nil {
		_ = shared.emu.Close()
	}
	os.Exit(code)
}

// sharedEmulator starts the run's emulator (throttling off) on first use.
func sharedEmulator(b *testing.B) *emulator.Emulator {
	b.Helper()
	shared.once.Do(func() {
		emu, err := emulator.New(emulator.Config{Logger: discard, ThrottleLimit: -1})
		if err == nil {
			err = emu.Start()
		}
		if err == nil {
			_, err = emu.CreateVault(emulator.VaultSpec{Name: benchVault})
		}
		shared.emu, shared.err = emu, err
	})
	if shared.err != nil {
		b.Fatal(shared.err)
	}
	return shared.emu
}

// certNames returns the names of the first n certificates of benchVault,
// issuing the missing ones (EC-P256, one version each) on as many
// goroutines as there are cores. Certificates are created once per run and
// reused by every benchmark that needs n or fewer.
func certNames(b *testing.B, n int) []string {
	b.Helper()
	emu := sharedEmulator(b)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	have := len(shared.names)
	if have < n {
		start := time.Now()
		names := make([]string, n)
		copy(names, shared.names)
		errs := make(chan error, n)
		var wg sync.WaitGroup
		next := make(chan int)
		for range runtime.GOMAXPROCS(0) {
			wg.Go(func() {
				for i := range next {
					name := fmt.Sprintf("cert%05d", i)
					if _, err := emu.CreateCertificate(benchVault, name, emulator.CertificateSpec{KeyType: "EC-P256", DNSNames: []string{name + ".example.com"}}); err != nil {
						errs <- err
						continue
					}
					names[i] = name
				}
			})
		}
		for i := have; i < n; i++ {
			next <- i
		}
		close(next)
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
		shared.names = names
		b.Logf("created certificates %d..%d in %v", have, n-1, time.Since(start).Round(time.Millisecond))
	}
	return shared.names[:n]
}

// collaborators are the production HTTP client and credential, built as
// cmd/akvvm builds them, against the shared emulator.
func collaborators(b *testing.B) (*identity.Credential, *http.Client) {
	b.Helper()
	emu := sharedEmulator(b)
	httpClient, err := transport.NewClient(emu.TransportOptions(), transport.ClientConfig{Concurrency: agent.DefaultConcurrency})
	if err != nil {
		b.Fatal(err)
	}
	cred, err := identity.New(identity.Options{Endpoint: emu.IMDSEndpoint(), HTTPClient: httpClient})
	if err != nil {
		b.Fatal(err)
	}
	return cred, httpClient
}

// newAgent builds the real agent over names, installing into dir, with the
// production collaborators (keyvault.NewClients, identity, transport,
// filestore) and concurrency 4.
func newAgent(b *testing.B, names []string, dir string) *agent.Agent {
	b.Helper()
	emu := sharedEmulator(b)
	cred, httpClient := collaborators(b)
	spec := agent.Spec{Interval: time.Hour, Versions: 1, Keep: 2, InitialSync: agent.InitialSync{Wait: true, MaxAttempts: 25}}
	vaultURL := emu.VaultURL(benchVault)
	for _, name := range names {
		spec.Certificates = append(spec.Certificates, agent.CertSpec{
			Ref: store.Ref{Vault: benchVault, Name: name}, VaultURL: vaultURL,
			URL: vaultURL + "/secrets/" + name, Target: store.Target{Location: dir},
		})
	}
	deps := agent.Deps{
		Source:      keyvault.NewClients(cred, keyvault.Options{HTTPClient: httpClient}),
		Store:       filestore.New(filestore.Options{Logger: discard}),
		Logger:      discard,
		Concurrency: concurrency,
	}
	withMetrics(&deps, cred, httpClient)
	a, err := agent.New(spec, deps)
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// newFloorClient is the official azsecrets client over the same transport
// and credential as the agent's, without akvvm's wrapper.
func newFloorClient(b *testing.B) *azsecrets.Client {
	b.Helper()
	cred, httpClient := collaborators(b)
	c, err := azsecrets.NewClient(sharedEmulator(b).VaultURL(benchVault), cred, &azsecrets.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: httpClient}})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// forEach runs fn over names on concurrency workers and returns the first error.
func forEach(ctx context.Context, names []string, fn func(ctx context.Context, name string) error) error {
	next := make(chan string)
	errs := make(chan error, concurrency)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			var first error
			for name := range next {
				if err := fn(ctx, name); err != nil && first == nil {
					first = fmt.Errorf("%s: %w", name, err)
				}
			}
			errs <- first
		})
	}
	for _, name := range names {
		next <- name
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// storeDir returns a new empty directory for installed certificates, under
// $AKVVM_BENCH_DIR when set (use a disk-backed file system: fsync is part
// of the cost), else the default temporary directory.
func storeDir(b *testing.B) string {
	b.Helper()
	dir, err := os.MkdirTemp(os.Getenv("AKVVM_BENCH_DIR"), "akvvm-bench-store-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// installed reports whether every certificate of st is installed.
func installed(st agent.Status) bool {
	if st.Phase != agent.Success {
		return false
	}
	for _, c := range st.Certificates {
		if !c.Installed() {
			return false
		}
	}
	return true
}
