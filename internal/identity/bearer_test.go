package identity

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// TestBearerPolicy uses the credential the way the Key Vault client does:
// through azcore's bearer-token policy, against a TLS resource server.
func TestBearerPolicy(t *testing.T) {
	f := newFakeEndpoint(t, okReply(3600))
	var auth []string
	resource := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
	}))
	defer resource.Close()

	cred, err := New(Options{Endpoint: f.URL + "/metadata/identity"})
	if err != nil {
		t.Fatal(err)
	}
	pl := runtime.NewPipeline("akvvm-test", "v0", runtime.PipelineOptions{
		PerRetry: []policy.Policy{runtime.NewBearerTokenPolicy(cred, []string{vaultScope}, nil)},
	}, &policy.ClientOptions{Transport: resource.Client()})
	for range 2 {
		req, err := runtime.NewRequest(context.Background(), http.MethodGet, resource.URL+"/secrets/x")
		if err != nil {
			t.Fatal(err)
		}
		resp, err := pl.Do(req)
		if err != nil {
			t.Fatalf("pipeline: %v", err)
		}
		resp.Body.Close()
	}
	for i, a := range auth {
		if a != "Bearer "+testToken {
			t.Errorf("request %d: Authorization is not the credential's bearer token", i)
		}
	}
	if len(auth) != 2 {
		t.Errorf("resource saw %d requests, want 2", len(auth))
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d token requests for two calls, want 1", n)
	}
}
