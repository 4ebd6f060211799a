package identity

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// A redirect from the identity endpoint is refused at once: no retry, no
// request to the other host, and the error names both hosts.
func TestRedirectFromTheEndpointIsRefused(t *testing.T) {
	var other atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		other.Add(1)
		_, _ = w.Write([]byte(okReply(3600).body))
	}))
	defer evil.Close()
	f := newFakeEndpoint(t, reply{status: http.StatusTemporaryRedirect, header: map[string]string{"Location": evil.URL + "/token"}})
	c, _, s := testCred(t, Options{Endpoint: f.tokenURL()})
	_, err := getToken(t, c, vaultScope)
	from, to := strings.TrimPrefix(f.URL, "http://"), strings.TrimPrefix(evil.URL, "http://")
	want := "identity: system-assigned identity at " + f.tokenURL() + ": " + from + " answered with a redirect to " + to +
		" (HTTP 307); Key Vault and the identity endpoint never redirect, so akvvm refuses to follow it"
	if err == nil || err.Error() != want {
		t.Errorf("GetToken error\n%v, want\n%s", err, want)
	}
	if n := len(f.requests()); n != 1 || len(s.delays()) != 0 {
		t.Errorf("%d requests and delays %v, want 1 request and no retry", n, s.delays())
	}
	if n := other.Load(); n != 0 {
		t.Errorf("the redirect's target got %d requests, want 0", n)
	}
}

// A token response larger than MaxResponseSize is refused, not retried,
// and the error names the limit and the host.
func TestOversizeTokenResponseIsRefused(t *testing.T) {
	big := `{"access_token":"` + strings.Repeat("A", MaxResponseSize) + `","expires_in":"3600"}`
	for _, tc := range []struct {
		name    string
		chunked bool
		mention string
	}{
		{name: "Content-Length", mention: "answered with more than 64 KiB (Content-Length "},
		{name: "chunked", chunked: true, mention: "answered with more than 64 KiB;"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var requests atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				w.Header().Set("Content-Type", "application/json")
				if tc.chunked {
					w.Header().Set("Transfer-Encoding", "chunked")
					_, _ = w.Write([]byte(big[:1000]))
					w.(http.Flusher).Flush()
					_, _ = w.Write([]byte(big[1000:]))
					return
				}
				w.Header().Set("Content-Length", strconv.Itoa(len(big)))
				_, _ = w.Write([]byte(big))
			}))
			defer srv.Close()
			c, _, s := testCred(t, Options{Endpoint: srv.URL + "/metadata/identity"})
			_, err := getToken(t, c, vaultScope)
			host := strings.TrimPrefix(srv.URL, "http://")
			for _, m := range []string{"identity: system-assigned identity at ", host + " " + tc.mention,
				"akvvm reads at most 64 KiB from the identity endpoint (a token response is a few KB), so it refused the answer"} {
				if err == nil || !strings.Contains(err.Error(), m) {
					t.Errorf("GetToken error %v does not mention %q", err, m)
				}
			}
			if err != nil && strings.Contains(err.Error(), "AAAA") {
				t.Errorf("the error quotes the body: %.200s", err)
			}
			if n := requests.Load(); n != 1 || len(s.delays()) != 0 {
				t.Errorf("%d requests and delays %v, want 1 request and no retry", n, s.delays())
			}
		})
	}
}
