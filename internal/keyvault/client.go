// Package keyvault reads certificate secrets from Azure Key Vault.
//
// It uses the official SDK (azsecrets) with one client per vault, shared by
// every certificate of that vault. Change is detected from version metadata
// (list versions); a secret value is fetched only for a version that is not
// installed yet.
package keyvault

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/akvvm/akvvm/internal/transport"
)

// Clients hands out one azsecrets client per vault.
type Clients struct {
	cred       azcore.TokenCredential
	httpClient *http.Client
	retry      policy.RetryOptions
	// throttleSpread is ThrottleSpread; tests shorten it.
	throttleSpread time.Duration
	log            *slog.Logger

	mu      sync.Mutex
	clients map[string]*azsecrets.Client
}

// Options tune the Key Vault clients.
type Options struct {
	// HTTPClient carries requests; nil means transport.NewClient's
	// production client. Build it with transport.NewClient, which refuses
	// redirects.
	HTTPClient *http.Client
	// Retry overrides azcore's retry policy (429 with Retry-After, 5xx);
	// a zero TryTimeout means two minutes per try.
	Retry policy.RetryOptions
	// Logger gets one line each time a vault starts throttling this
	// machine (HTTP 429) and how long it waits; nil logs nothing.
	Logger *slog.Logger
}

// defaultTryTimeout bounds one try of a Key Vault request when Options.Retry
// sets no TryTimeout. azcore sets none, so a vault or firewall that accepts
// the connection and never answers would stall the agent's pass forever.
// Two tries and azcore's back-off between them fit the agent's 2-minute
// budget for one check, so a stalled connection is given up and tried
// again on a new one within the same check.
const defaultTryTimeout = 45 * time.Second

// NewClients returns a client factory that authenticates with cred.
func NewClients(cred azcore.TokenCredential, opts Options) *Clients {
	if opts.Retry.TryTimeout == 0 {
		opts.Retry.TryTimeout = defaultTryTimeout
	}
	return &Clients{cred: cred, httpClient: opts.HTTPClient, retry: opts.Retry, throttleSpread: ThrottleSpread, log: opts.Logger,
		clients: map[string]*azsecrets.Client{}}
}

// transporter returns what carries the requests: the HTTP client, with
// every response body bounded to MaxResponseSize.
func (c *Clients) transporter() (policy.Transporter, error) {
	hc := c.httpClient
	if hc == nil {
		var err error
		if hc, err = transport.NewClient(transport.Options{}, transport.ClientConfig{}); err != nil {
			return nil, fmt.Errorf("key vault HTTP client: %w", err)
		}
	}
	return limitedTransporter{next: hc}, nil
}

// client returns the shared client for vaultURL ("https://host").
func (c *Clients) client(vaultURL string) (*azsecrets.Client, error) {
	key := strings.ToLower(strings.TrimSuffix(vaultURL, "/"))
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clients[key]; ok {
		return cl, nil
	}
	th := &throttle{spread: c.throttleSpread, vault: hostOf(vaultURL), log: c.log}
	opts := &azsecrets.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: c.retry,
		PerCallPolicies:  []policy.Policy{throttleWait{th}},
		PerRetryPolicies: []policy.Policy{tryPolicy{tryTimeout: c.retry.TryTimeout}, throttleMark{th}}}}
	tr, err := c.transporter()
	if err != nil {
		return nil, err
	}
	opts.Transport = tr
	cl, err := azsecrets.NewClient(vaultURL, recordingCredential{c.cred}, opts)
	if err != nil {
		return nil, fmt.Errorf("key vault client for %s: %w", vaultURL, err)
	}
	c.clients[key] = cl
	return cl, nil
}

// Versions lists the metadata of every version of the secret name.
func (c *Clients) Versions(ctx context.Context, vaultURL, name string) ([]Version, error) {
	cl, err := c.client(vaultURL)
	if err != nil {
		return nil, err
	}
	var out []Version
	pager := cl.NewListSecretPropertiesVersionsPager(name, nil)
	for pager.More() {
		pageCtx, tr := withTries(ctx)
		page, err := pager.NextPage(pageCtx)
		if err != nil {
			return nil, NewError("list versions of", vaultURL, name, "", tr.explain(err, c.retry.TryTimeout))
		}
		for _, p := range page.Value {
			if p != nil {
				out = append(out, versionFrom(p.ID, p.Attributes, p.ContentType, p.Managed))
			}
		}
	}
	return out, nil
}

// Get fetches one version of the secret; an empty version means the latest.
func (c *Clients) Get(ctx context.Context, vaultURL, name, version string) (*Secret, error) {
	cl, err := c.client(vaultURL)
	if err != nil {
		return nil, err
	}
	ctx, tr := withTries(ctx)
	resp, err := cl.GetSecret(ctx, name, version, nil)
	if err != nil {
		return nil, NewError("get", vaultURL, name, version, tr.explain(err, c.retry.TryTimeout))
	}
	s := &Secret{Version: versionFrom(resp.ID, resp.Attributes, resp.ContentType, resp.Managed)}
	if resp.Value != nil {
		s.value = *resp.Value
	}
	return s, nil
}
