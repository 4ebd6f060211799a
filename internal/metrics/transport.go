package metrics

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// The Key Vault operations of akvvm_keyvault_requests_total.
const (
	OpGetSecret    = "getSecret"    // GET /secrets/{name}[/{version}]
	OpListVersions = "listVersions" // GET /secrets/{name}/versions
	OpListSecrets  = "listSecrets"  // GET /secrets
	OpOther        = "other"
)

// reqKey is one child of akvvm_keyvault_requests_total.
type reqKey struct {
	op     string
	status int // 0: no answer
}

// Operation names a Key Vault request by its method and path shape, never
// by the secret's name or version.
func Operation(method, path string) string {
	if method != http.MethodGet {
		return OpOther
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) == 0 || parts[0] != "secrets" {
		return OpOther
	}
	switch {
	case len(parts) == 1:
		return OpListSecrets
	case len(parts) == 3 && parts[2] == "versions":
		return OpListVersions
	case len(parts) == 2 || len(parts) == 3:
		return OpGetSecret
	}
	return OpOther
}

// statusLabel renders an HTTP status as a label value: its code, "error"
// when there was no answer, "other" outside 100 to 599.
func statusLabel(code int) string {
	switch {
	case code == 0:
		return "error"
	case code < 100 || code > 599: // -1 from KeyVault
		return "other"
	}
	return strconv.Itoa(code)
}

// KeyVault wraps the round tripper of the Key Vault client to count its
// requests (every try, the unauthenticated challenge request included).
func (m *Metrics) KeyVault(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(r)
		k := reqKey{op: Operation(r.Method, r.URL.Path)}
		if err == nil {
			k.status = resp.StatusCode
			if k.status < 100 || k.status > 599 {
				k.status = -1 // one "other" child, however many odd codes
			}
		}
		m.request(k).Inc()
		return resp, err
	})
}

// request returns the cached child of k.
func (m *Metrics) request(k reqKey) prometheus.Counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.reqs[k]
	if !ok {
		c = m.requests.WithLabelValues(k.op, statusLabel(k.status))
		m.reqs[k] = c
	}
	return c
}

// The results of akvvm_identity_token_requests_total.
const (
	TokenSuccess = "success"  // 2xx
	TokenHTTP4xx = "http_4xx" // refused, such as an unknown identity
	TokenHTTP429 = "http_429" // throttled
	TokenHTTP5xx = "http_5xx"
	TokenError   = "error" // no answer
)

// Identity wraps the round tripper of the identity endpoint's client to
// count token requests by result (every request, retries included).
func (m *Metrics) Identity(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(r)
		result := TokenError
		if err == nil {
			switch s := resp.StatusCode; {
			case s >= 200 && s < 300:
				result = TokenSuccess
			case s == 429:
				result = TokenHTTP429
			case s >= 500:
				result = TokenHTTP5xx
			default:
				result = TokenHTTP4xx
			}
		}
		m.token(result).Inc()
		return resp, err
	})
}

func (m *Metrics) token(result string) prometheus.Counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.toks[result]
	if !ok {
		c = m.tokens.WithLabelValues(result)
		m.toks[result] = c
	}
	return c
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
