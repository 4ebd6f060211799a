package fleet

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/config"
	"github.com/akvvm/akvvm/internal/identity"
	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/store/filestore"
	"github.com/akvvm/akvvm/internal/transport"
)

// member is one simulated machine: its agent and what it owns alone.
type member struct {
	agent   *agent.Agent
	clients []*http.Client // Key Vault and identity clients, closed at the end
	// requests and throttled count what its Key Vault client sent and the
	// 429s it received; tokens the requests to the identity endpoint.
	requests, throttled, tokens atomic.Int64
}

// checks counts the fleet's checks and failed checks (agent.Observer).
type checks struct {
	total, failed, throttled atomic.Int64
}

func (c *checks) Certificates([]string)  {}
func (c *checks) Secrets([]string)       {}
func (c *checks) PassDone(time.Duration) {}
func (c *checks) Checked(k agent.Check) {
	c.total.Add(1)
	if k.Failures > 0 {
		c.failed.Add(1)
		// Key Vault's 429 carries the code Throttled, which is its own
		// cause; a 429 without it is http_429.
		if k.Cause == "Throttled" || k.Cause == agent.CauseHTTP429 {
			c.throttled.Add(1)
		}
	}
}

var discard = slog.New(slog.DiscardHandler)

// settings are one machine's Linux 3.0 extension settings.
func settings(dir, imds string, interval time.Duration, urls []string) ([]byte, error) {
	return json.Marshal(map[string]any{
		"secretsManagementSettings": map[string]any{
			"pollingIntervalInS":       fmt.Sprint(int(interval / time.Second)),
			"certificateStoreLocation": dir,
			"requireInitialSync":       true,
			"observedCertificates":     urls,
		},
		"authenticationSettings": map[string]any{"msiEndpoint": imds},
	})
}

// newMember builds machine i as cmd/akvvm's wireDeps builds the service,
// from Linux 3.0 settings through config.Parse and agent.SpecFromSettings,
// with its own HTTP clients, credential, store directory and status file.
// The only differences: each client dials the emulator through an
// in-memory pipe, and counts its requests.
func (s *sim) newMember(i int) (*member, error) {
	dir := filepath.Join(s.cfg.Dir, fmt.Sprintf("machine%05d", i))
	storeDir := filepath.Join(dir, "store")
	if err := os.MkdirAll(storeDir, 0o755); err != nil {
		return nil, fmt.Errorf("machine %d: %w", i, err)
	}
	raw, err := settings(storeDir, s.emu.IMDSEndpoint(), s.cfg.Interval, s.urls)
	if err != nil {
		return nil, err
	}
	set, err := config.Parse(raw, config.Options{Schema: config.Schema{Platform: config.Linux, Version: "3.0"}})
	if err != nil {
		return nil, fmt.Errorf("machine %d settings: %w", i, err)
	}
	m := &member{}
	topts := transport.Options{CAFile: s.emu.CAFile()}
	via := func(ln *pipeListener, requests, throttled *atomic.Int64) func(http.RoundTripper) http.RoundTripper {
		return func(rt http.RoundTripper) http.RoundTripper {
			tr := rt.(*http.Transport)
			tr.DialContext = ln.dial
			tr.Proxy = nil
			return counting{next: tr, requests: requests, throttled: throttled}
		}
	}
	var imdsThrottled atomic.Int64
	imdsHTTP, err := transport.NewClient(topts, transport.ClientConfig{NoProxy: true, Timeout: time.Minute, Wrap: via(s.imdsLn, &m.tokens, &imdsThrottled)})
	if err != nil {
		return nil, err
	}
	kvHTTP, err := transport.NewClient(topts, transport.ClientConfig{Concurrency: agent.DefaultConcurrency, Wrap: via(s.httpsLn, &m.requests, &m.throttled)})
	if err != nil {
		return nil, err
	}
	m.clients = []*http.Client{imdsHTTP, kvHTTP}
	cred, err := identity.New(identity.Options{Endpoint: set.Identity.Endpoint, HTTPClient: imdsHTTP, Logger: discard})
	if err != nil {
		return nil, fmt.Errorf("machine %d identity: %w", i, err)
	}
	deps := agent.Deps{
		Source:      keyvault.NewClients(cred, keyvault.Options{HTTPClient: kvHTTP}),
		Store:       &trackedStore{Store: filestore.New(filestore.Options{Logger: discard}), agent: i, certs: s.certIndex, t: s.track},
		Identity:    cred.Describe(),
		Logger:      discard,
		Concurrency: agent.DefaultConcurrency,
		Observer:    &s.checks,
		StatusFile:  filepath.Join(dir, "status.json"),
	}
	if m.agent, err = agent.New(agent.SpecFromSettings(set), deps); err != nil {
		return nil, fmt.Errorf("machine %d: %w", i, err)
	}
	return m, nil
}
