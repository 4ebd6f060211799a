//go:build linux

package bench

import (
	"net/http"
	"os"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/identity"
	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/metrics"
)

// metricsOn says AKVVM_BENCH_METRICS=1 asked for the agent benchmarks
// with metrics: the observer and the Key Vault request counter, as
// akvvm run --metrics-listen wires them (only the server is left out).
var metricsOn = os.Getenv("AKVVM_BENCH_METRICS") == "1"

// withMetrics wires a fresh metrics.Metrics into deps when metricsOn.
func withMetrics(deps *agent.Deps, cred *identity.Credential, httpClient *http.Client) {
	if !metricsOn {
		return
	}
	m := metrics.New()
	counted := *httpClient
	counted.Transport = m.KeyVault(httpClient.Transport)
	deps.Source = keyvault.NewClients(cred, keyvault.Options{HTTPClient: &counted})
	deps.Observer = m
}
