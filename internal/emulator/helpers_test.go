package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/akvvm/akvvm/internal/transport"
)

// fakeClock is a settable clock for tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now().Truncate(time.Second)} }

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

// startEmulator starts an emulator with cfg and stops it at the end of the test.
func startEmulator(t *testing.T, cfg Config) *Emulator {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := e.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

// mustVault creates a vault or fails the test.
func mustVault(t *testing.T, e *Emulator, spec VaultSpec) {
	t.Helper()
	if _, err := e.CreateVault(spec); err != nil {
		t.Fatalf("CreateVault(%s): %v", spec.Name, err)
	}
}

// httpClient returns a client routed to the emulator and trusting its CA only.
func httpClient(t testing.TB, e *Emulator) *http.Client {
	t.Helper()
	c, err := transport.NewClient(e.TransportOptions(), transport.ClientConfig{Timeout: time.Minute})
	if err != nil {
		t.Fatalf("transport.NewClient: %v", err)
	}
	return c
}

// imdsCredential is a test-only azcore.TokenCredential that asks the
// emulator's IMDS endpoint, as a managed identity would.
type imdsCredential struct {
	endpoint string
	clientID string
	http     *http.Client
	calls    atomic.Int32
}

func (c *imdsCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.calls.Add(1)
	if len(opts.Scopes) != 1 {
		return azcore.AccessToken{}, fmt.Errorf("want one scope, got %v", opts.Scopes)
	}
	tok, err := fetchToken(ctx, c.http, c.endpoint, strings.TrimSuffix(opts.Scopes[0], "/.default"), c.clientID)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	exp, err := strconv.ParseInt(tok.ExpiresOn, 10, 64)
	if err != nil {
		return azcore.AccessToken{}, fmt.Errorf("expires_on %q: %w", tok.ExpiresOn, err)
	}
	return azcore.AccessToken{Token: tok.AccessToken, ExpiresOn: time.Unix(exp, 0)}, nil
}

// fetchToken calls the IMDS endpoint for resource.
func fetchToken(ctx context.Context, c *http.Client, endpoint, resource, clientID string) (tokenResponse, error) {
	q := url.Values{"api-version": {"2018-02-01"}, "resource": {resource}}
	if clientID != "" {
		q.Set("client_id", clientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"?"+q.Encode(), nil)
	if err != nil {
		return tokenResponse{}, err
	}
	req.Header.Set("Metadata", "true")
	resp, err := c.Do(req)
	if err != nil {
		return tokenResponse{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return tokenResponse{}, fmt.Errorf("IMDS answered %d", resp.StatusCode)
	}
	var tok tokenResponse
	if err := json.Unmarshal(body, &tok); err != nil {
		return tokenResponse{}, err
	}
	return tok, nil
}

// mustToken gets a token for resource or fails the test.
func mustToken(t *testing.T, e *Emulator, resource, clientID string) string {
	t.Helper()
	tok, err := fetchToken(context.Background(), http.DefaultClient, e.IMDSEndpoint(), resource, clientID)
	if err != nil {
		t.Fatalf("token for %s: %v", resource, err)
	}
	return tok.AccessToken
}

// sdkClient returns the official azsecrets client for vaultURL through the emulator.
func sdkClient(t *testing.T, e *Emulator, vaultURL string, cred azcore.TokenCredential) *azsecrets.Client {
	t.Helper()
	c, err := azsecrets.NewClient(vaultURL, cred, &azsecrets.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: httpClient(t, e),
		Retry:     policy.RetryOptions{MaxRetries: 2, RetryDelay: time.Millisecond, MaxRetryDelay: 5 * time.Millisecond},
	}})
	if err != nil {
		t.Fatalf("azsecrets.NewClient: %v", err)
	}
	return c
}

// newCred returns an IMDS credential for the emulator.
func newCred(e *Emulator, clientID string) *imdsCredential {
	return &imdsCredential{endpoint: e.IMDSEndpoint(), clientID: clientID, http: &http.Client{Timeout: time.Minute}}
}

// rawResponse is a decoded answer of a raw vault request.
type rawResponse struct {
	status int
	header http.Header
	body   []byte
	err    error
}

// errorCode returns the Key Vault error code of the body.
func (r rawResponse) errorCode() string {
	var b kvErrorBody
	_ = json.Unmarshal(r.body, &b)
	return b.Error.Code
}

// rawRequest sends one request with an optional bearer token.
func rawRequest(t *testing.T, c *http.Client, method, u, token string, body string) rawResponse {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return rawResponse{err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: data, err: err}
}

// responseErrorCode returns the Key Vault error code of an SDK error.
func responseErrorCode(t *testing.T, err error) (int, string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("error %v is not an *azcore.ResponseError", err)
	}
	return re.StatusCode, re.ErrorCode
}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// policyScope builds token request options for one scope.
func policyScope(scope string) policy.TokenRequestOptions {
	return policy.TokenRequestOptions{Scopes: []string{scope}}
}
