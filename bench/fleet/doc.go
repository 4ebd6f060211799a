// Package fleet simulates a fleet of akvvm agents observing one Key Vault:
// N real agents (internal/agent with the production collaborators: the
// official azsecrets client through keyvault.Clients, the identity
// credential, the transport's HTTP client, and each its own
// internal/store/filestore directory) against one in-process emulator that
// enforces Key Vault's limit of 4,000 requests per 10 s per vault.
//
// Time is virtual. Run must be called inside a testing/synctest bubble:
// every clock the agents, the Azure SDK, net/http and the emulator read is
// the bubble's, which advances only when every goroutine of the simulation
// waits on a timer or on another goroutine. A request therefore takes no
// virtual time however slow the machine running the simulation is, and an
// hour's polling interval, the agents' jitter, their back-off and
// Retry-After, the SDK's retries and the emulator's 10 s throttle window
// are all the production values, unscaled. For that, connections are
// in-memory pipes (net.Pipe) rather than loopback TCP: a goroutine waiting
// on a socket is not seen as waiting by synctest. Over each pipe run real
// TLS 1.3 (the emulator's certificate checked against its CA) and real
// HTTP/2 (HTTP/1.1 to the identity endpoint), as on a machine.
//
// bench/fleet.sh runs the scenarios and writes bench/results/; see
// bench/README.md ("Fleet").
package fleet
