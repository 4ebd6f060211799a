package identity

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/akvvm/akvvm/internal/transport"
)

// defaultTimeout bounds one request of the default HTTP client; IMDS
// answers in well under a second, and azidentity allows a minute.
const defaultTimeout = time.Minute

// Options configure a Credential. The zero value asks IMDS for the
// system-assigned identity.
type Options struct {
	// Endpoint is the token URL (msiEndpoint); empty means DefaultEndpoint.
	// A URL ending in /metadata/identity gets /oauth2/token appended.
	Endpoint string
	// ClientID selects a user-assigned identity (msiClientId); empty means
	// the system-assigned identity.
	ClientID string
	// ObjectID selects a user-assigned identity by its object (principal)
	// id (msiObjectId), sent as object_id.
	ObjectID string
	// ResourceID selects a user-assigned identity by its ARM resource id,
	// sent as msi_res_id. At most one of ClientID, ObjectID and ResourceID
	// may be set.
	ResourceID string
	// HTTPClient sends the requests; nil means a client without proxy (IMDS
	// must not be reached through a proxy) and a one-minute timeout.
	HTTPClient *http.Client
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Sleep waits between retries; nil means a timer that honours ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives retry and refresh messages; nil discards them.
	Logger *slog.Logger
	// MaxRetries is how many times a retryable failure is retried; 0 means
	// DefaultMaxRetries and a negative value means never.
	MaxRetries int
	// ArcKeyDir replaces the Azure Arc token directory, the only place an
	// Arc challenge may name a key file in; for tests and the emulator.
	ArcKeyDir string
}

// Credential is a managed-identity azcore.TokenCredential. It is safe for
// concurrent use.
type Credential struct {
	endpoint   *url.URL
	selector   selector
	client     *http.Client
	now        func() time.Time
	sleep      func(ctx context.Context, d time.Duration) error
	log        *slog.Logger
	maxRetries int
	arcKeyDir  string
	// jitter returns a number in [0, 1) for the back-off; tests replace it.
	jitter func() float64
	// onWait, when set, runs when a caller starts waiting for another
	// caller's request; tests use it to synchronise.
	onWait func()

	mu       sync.Mutex
	cache    map[string]azcore.AccessToken // by resource
	inflight map[string]*call              // by resource
	// notBefore is the time the endpoint's latest Retry-After (on 429 or
	// 503) asked to wait for, and heldBy that answer's error; the next
	// request, in this call or a later one, is not sent before it.
	notBefore time.Time
	heldBy    error
}

// call is one token request that concurrent callers share.
type call struct {
	done    chan struct{}
	tok     azcore.AccessToken
	err     error
	waiters int
	cancel  context.CancelFunc
	// last is the failure of the latest attempt while the request still
	// retries (guarded by Credential.mu), so that a caller giving up can
	// name the real cause.
	last error
}

var _ azcore.TokenCredential = (*Credential)(nil)

// New validates opts and returns a Credential.
func New(opts Options) (*Credential, error) {
	u, err := parseEndpoint(opts.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	sel, err := selectorOf(opts)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	c := &Credential{
		endpoint:   u,
		selector:   sel,
		client:     opts.HTTPClient,
		now:        opts.Clock,
		sleep:      opts.Sleep,
		log:        opts.Logger,
		maxRetries: opts.MaxRetries,
		arcKeyDir:  opts.ArcKeyDir,
		jitter:     rand.Float64,
		cache:      map[string]azcore.AccessToken{},
		inflight:   map[string]*call{},
	}
	if c.client == nil {
		if c.client, err = transport.NewClient(transport.Options{}, transport.ClientConfig{NoProxy: true, Timeout: defaultTimeout}); err != nil {
			return nil, fmt.Errorf("identity: build the HTTP client: %w", err)
		}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = sleepContext
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	switch {
	case c.maxRetries == 0:
		c.maxRetries = DefaultMaxRetries
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	if c.arcKeyDir == "" {
		c.arcKeyDir = defaultArcKeyDir()
	}
	return c, nil
}

// Describe names the identity and endpoint, for errors and status, such as
// "user-assigned identity 1234 at http://169.254.169.254/metadata/identity/oauth2/token".
func (c *Credential) Describe() string {
	return c.selector.describe() + " at " + c.endpoint.String()
}

// GetToken returns a token for the one scope in o, from the cache while it
// is fresh. Claims, which IMDS cannot honour, make it skip the cache.
func (c *Credential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	resource, err := resourceFromScopes(o.Scopes)
	if err != nil {
		return azcore.AccessToken{}, fmt.Errorf("identity: %s: %w", c.Describe(), err)
	}
	if err := context.Cause(ctx); err != nil {
		return azcore.AccessToken{}, fmt.Errorf("identity: %s: %w", c.Describe(), err)
	}
	c.mu.Lock()
	if tok, ok := c.cache[resource]; ok && o.Claims == "" && c.now().Before(tok.RefreshOn) {
		c.mu.Unlock()
		return tok, nil
	}
	cl, shared := c.inflight[resource]
	if !shared {
		fetchCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		cl = &call{done: make(chan struct{}), cancel: cancel}
		c.inflight[resource] = cl
		go c.run(fetchCtx, resource, cl)
	}
	cl.waiters++
	c.mu.Unlock()
	if shared && c.onWait != nil {
		c.onWait()
	}

	select {
	case <-cl.done:
		return cl.tok, cl.err
	case <-ctx.Done():
		c.mu.Lock()
		cl.waiters--
		if cl.waiters == 0 {
			// Nobody wants the token any more: stop the request, and let
			// the next caller start a fresh one rather than join it.
			cl.cancel()
			if c.inflight[resource] == cl {
				delete(c.inflight, resource)
			}
		}
		last := cl.last
		c.mu.Unlock()
		if last != nil {
			return azcore.AccessToken{}, &GaveUpError{Last: last, Err: context.Cause(ctx)}
		}
		return azcore.AccessToken{}, fmt.Errorf("identity: %s: waiting for a token: %w", c.Describe(), context.Cause(ctx))
	}
}

// GaveUpError is what a caller gets when its context ends while the token
// request still retries: the failure of the latest attempt, and why the
// caller stopped waiting. Both are reachable with errors.Is and errors.As.
type GaveUpError struct {
	// Last is the latest attempt's failure, such as a refused connection
	// or an HTTP 500 (a *ResponseError).
	Last error
	// Err is the cause of the caller's context ending.
	Err error
}

func (e *GaveUpError) Error() string {
	return fmt.Sprintf("%v (gave up waiting for a retry: %v)", e.Last, e.Err)
}

// Unwrap returns both errors.
func (e *GaveUpError) Unwrap() []error { return []error{e.Last, e.Err} }

// run performs a shared request and publishes its result. The request's
// context is detached from the first caller's, so one caller giving up does
// not fail the others; it is cancelled when every caller has given up.
func (c *Credential) run(ctx context.Context, resource string, cl *call) {
	tok, err := c.fetch(ctx, resource, func(err error) {
		c.mu.Lock()
		cl.last = err
		c.mu.Unlock()
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	cl.cancel()
	cl.tok, cl.err = tok, err
	if err == nil {
		c.cache[resource] = tok
	}
	if c.inflight[resource] == cl {
		delete(c.inflight, resource)
	}
	close(cl.done)
}

// sleepContext waits for d or until ctx is done.
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
