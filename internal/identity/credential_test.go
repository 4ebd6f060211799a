package identity

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestGetTokenRequest(t *testing.T) {
	tests := []struct {
		name         string
		clientID     string
		scope        string
		wantResource string
	}{
		{"system-assigned", "", vaultScope, "https://vault.azure.net"},
		{"user-assigned", "c7373ae5-91c2-4165-8ab6-7381d6e75619", vaultScope, "https://vault.azure.net"},
		{"china cloud", "", "https://vault.azure.cn/.default", "https://vault.azure.cn"},
		{"scope without .default", "", "https://vault.azure.net", "https://vault.azure.net"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeEndpoint(t, okReply(3600))
			c, clock, _ := testCred(t, Options{Endpoint: f.tokenURL(), ClientID: tt.clientID})
			tok, err := c.GetToken(context.Background(), tokenOptions(tt.scope))
			if err != nil {
				t.Fatalf("GetToken: %v", err)
			}
			if tok.Token != testToken {
				t.Errorf("token = %q, want the endpoint's", tok.Token)
			}
			if want := clock.Now().Add(time.Hour); !tok.ExpiresOn.Equal(want) {
				t.Errorf("ExpiresOn = %v, want %v (now + expires_in)", tok.ExpiresOn, want)
			}
			if want := tok.ExpiresOn.Add(-refreshBefore); !tok.RefreshOn.Equal(want) {
				t.Errorf("RefreshOn = %v, want %v", tok.RefreshOn, want)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("got %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != "GET" || r.URL.Path != "/metadata/identity/oauth2/token" {
				t.Errorf("request = %s %s, want GET /metadata/identity/oauth2/token", r.Method, r.URL.Path)
			}
			if got := r.Header.Get("Metadata"); got != "true" {
				t.Errorf("Metadata header = %q, want true", got)
			}
			if r.Header.Get("Authorization") != "" {
				t.Error("first request carries an Authorization header")
			}
			q := query(r)
			if got := q.Get("api-version"); got != imdsAPIVersion {
				t.Errorf("api-version = %q, want %q", got, imdsAPIVersion)
			}
			if got := q.Get("resource"); got != tt.wantResource {
				t.Errorf("resource = %q, want %q", got, tt.wantResource)
			}
			if got, ok := q["client_id"]; ok != (tt.clientID != "") || (ok && got[0] != tt.clientID) {
				t.Errorf("client_id = %q (present %v), want %q", got, ok, tt.clientID)
			}
		})
	}
}

func TestGetTokenScopes(t *testing.T) {
	tests := []struct {
		name   string
		scopes []string
	}{
		{"none", nil},
		{"two", []string{vaultScope, "https://management.azure.com/.default"}},
		{"empty", []string{"/.default"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeEndpoint(t, okReply(3600))
			c, _, _ := testCred(t, Options{Endpoint: f.tokenURL()})
			if _, err := getToken(t, c, tt.scopes...); err == nil || !strings.Contains(err.Error(), "scope") {
				t.Errorf("GetToken(%q) error = %v, want one about the scope", tt.scopes, err)
			}
			if n := len(f.requests()); n != 0 {
				t.Errorf("sent %d requests for bad scopes, want 0", n)
			}
		})
	}
}

func TestGetTokenCache(t *testing.T) {
	f := newFakeEndpoint(t, okReply(3600))
	c, clock, _ := testCred(t, Options{Endpoint: f.tokenURL()})
	steps := []struct {
		name      string
		advance   time.Duration
		scope     string
		wantTotal int
	}{
		{"first call asks", 0, vaultScope, 1},
		{"second call is cached", 0, vaultScope, 1},
		{"still fresh 6 min before expiry", 54 * time.Minute, vaultScope, 1},
		{"refreshed 5 min before expiry", time.Minute, vaultScope, 2},
		{"new token is cached", time.Minute, vaultScope, 2},
		{"other resource asks", 0, "https://vault.azure.cn/.default", 3},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		if _, err := getToken(t, c, s.scope); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if n := len(f.requests()); n != s.wantTotal {
			t.Errorf("%s: %d requests in total, want %d", s.name, n, s.wantTotal)
		}
	}
}

func TestGetTokenClaimsSkipCache(t *testing.T) {
	f := newFakeEndpoint(t, okReply(3600))
	c, _, _ := testCred(t, Options{Endpoint: f.tokenURL()})
	if _, err := getToken(t, c, vaultScope); err != nil {
		t.Fatal(err)
	}
	o := tokenOptions(vaultScope)
	o.Claims = `{"access_token":{"nbf":{"essential":true}}}`
	if _, err := c.GetToken(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if n := len(f.requests()); n != 2 {
		t.Errorf("%d requests, want 2: a claims request must not be served from the cache", n)
	}
}

func TestGetTokenConcurrentCallersShareOneRequest(t *testing.T) {
	const callers = 8
	f := newFakeEndpoint(t, okReply(3600))
	f.block = make(chan struct{})
	c, _, _ := testCred(t, Options{Endpoint: f.tokenURL()})
	var joined sync.WaitGroup
	joined.Add(callers - 1)
	c.onWait = joined.Done

	errs := make(chan error, callers)
	for range callers {
		go func() {
			tok, err := c.GetToken(context.Background(), tokenOptions(vaultScope))
			if err == nil && tok.Token != testToken {
				err = errors.New("wrong token")
			}
			errs <- err
		}()
	}
	joined.Wait() // every caller but the first waits on the first's request
	close(f.block)
	for range callers {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d requests for %d concurrent callers, want 1", n, callers)
	}
}

func TestGetTokenCallerGivingUpDoesNotFailOthers(t *testing.T) {
	f := newFakeEndpoint(t, okReply(3600))
	f.block = make(chan struct{})
	f.arrived = make(chan struct{}, 1)
	c, _, _ := testCred(t, Options{Endpoint: f.tokenURL()})
	joined := make(chan struct{})
	c.onWait = func() { close(joined) }

	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := c.GetToken(ctx, tokenOptions(vaultScope))
		first <- err
	}()
	second := make(chan error, 1)
	go func() {
		<-f.arrived // join once the first call's request is on its way
		_, err := c.GetToken(context.Background(), tokenOptions(vaultScope))
		second <- err
	}()
	<-joined
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: err = %v, want context.Canceled", err)
	}
	close(f.block)
	if err := <-second; err != nil {
		t.Errorf("second caller failed because the first gave up: %v", err)
	}
}

// stuckOnce is an endpoint connection whose first request hangs, ignoring
// cancellation, until released; later requests go through.
type stuckOnce struct {
	arrived, release chan struct{}
	once             sync.Once
}

func (s *stuckOnce) RoundTrip(r *http.Request) (*http.Response, error) {
	stuck := false
	s.once.Do(func() { stuck = true })
	if stuck {
		close(s.arrived)
		<-s.release
		return nil, errors.New("connection reset")
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestGetTokenAfterEveryCallerGaveUp(t *testing.T) {
	f := newFakeEndpoint(t, okReply(3600))
	rt := &stuckOnce{arrived: make(chan struct{}), release: make(chan struct{})}
	c, _, _ := testCred(t, Options{Endpoint: f.tokenURL(), HTTPClient: &http.Client{Transport: rt}, MaxRetries: -1})

	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := c.GetToken(ctx, tokenOptions(vaultScope))
		first <- err
	}()
	<-rt.arrived
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: err = %v, want context.Canceled", err)
	}
	// The abandoned request still hangs; a new caller must not join it.
	c.mu.Lock()
	abandoned := len(c.inflight)
	c.mu.Unlock()
	if abandoned != 0 {
		close(rt.release)
		t.Fatalf("%d abandoned requests still open to new callers", abandoned)
	}
	if _, err := getToken(t, c, vaultScope); err != nil {
		t.Errorf("a new caller after everyone gave up failed: %v", err)
	}
	close(rt.release)
	if _, err := c.GetToken(ctx, tokenOptions(vaultScope)); !errors.Is(err, context.Canceled) {
		t.Errorf("GetToken with a cancelled context: err = %v, want context.Canceled", err)
	}
}
