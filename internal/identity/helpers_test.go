package identity

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// testToken is the access token the fake endpoint issues; tests check it
// never leaks into errors.
const testToken = "eyJ0eXAiOiJKV1QiLCJzZWNyZXQiOiJ0b2tlbi12YWx1ZSJ9.secret-token-value"

const vaultScope = "https://vault.azure.net/.default"

// reply is one scripted answer of the fake endpoint.
type reply struct {
	status int
	header map[string]string
	body   string
}

func okReply(expiresIn int) reply {
	return reply{status: 200, body: fmt.Sprintf(`{"access_token":%q,"expires_in":"%d","expires_on":"1","token_type":"Bearer","resource":"https://vault.azure.net"}`, testToken, expiresIn)}
}

// fakeEndpoint is a token endpoint answering from a script; the last reply
// repeats. It records every request.
type fakeEndpoint struct {
	*httptest.Server
	mu      sync.Mutex
	replies []reply
	reqs    []*http.Request
	// block, when not nil, is waited on before answering.
	block chan struct{}
	// arrived gets a value for each request, when not nil (non-blocking).
	arrived chan struct{}
}

func newFakeEndpoint(t *testing.T, replies ...reply) *fakeEndpoint {
	t.Helper()
	f := &fakeEndpoint{replies: replies}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.reqs = append(f.reqs, r.Clone(context.Background()))
	rep := f.replies[0]
	if len(f.replies) > 1 {
		f.replies = f.replies[1:]
	}
	block := f.block
	if f.arrived != nil {
		select {
		case f.arrived <- struct{}{}:
		default:
		}
	}
	f.mu.Unlock()
	if block != nil {
		<-block
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	_, _ = w.Write([]byte(rep.body))
}

func (f *fakeEndpoint) requests() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.reqs...)
}

// tokenURL is the fake's token URL in the /metadata/identity form.
func (f *fakeEndpoint) tokenURL() string { return f.URL + "/metadata/identity/oauth2/token" }

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// sleeps records the delays a credential chose, without waiting.
type sleeps struct {
	mu sync.Mutex
	ds []time.Duration
}

func (s *sleeps) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ds = append(s.ds, d)
	return ctx.Err()
}

func (s *sleeps) delays() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.ds...)
}

// testCred builds a credential with a fake clock, recorded sleeps and a
// fixed jitter (0.5 gives the nominal delays).
func testCred(t *testing.T, opts Options) (*Credential, *fakeClock, *sleeps) {
	t.Helper()
	clock := &fakeClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := &sleeps{}
	opts.Clock, opts.Sleep = clock.Now, s.Sleep
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New(%+v): %v", opts, err)
	}
	c.jitter = func() float64 { return 0.5 }
	return c, clock, s
}

func getToken(t *testing.T, c *Credential, scopes ...string) (string, error) {
	t.Helper()
	tok, err := c.GetToken(context.Background(), tokenOptions(scopes...))
	return tok.Token, err
}

func query(r *http.Request) url.Values { return r.URL.Query() }

func tokenOptions(scopes ...string) policy.TokenRequestOptions {
	return policy.TokenRequestOptions{Scopes: scopes}
}
