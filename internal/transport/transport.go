// Package transport builds the HTTP clients akvvm uses to reach Azure.
//
// Production uses the defaults: system DNS and the system trust store. Two
// explicit options exist for tests, demos and the built-in emulator, and
// production never sets them: routes that send connections for chosen host
// names to another address (like curl's --connect-to), and a CA file that
// replaces the system trust store. Host names, the TLS server name checked,
// and the Host header are never changed, so the same code path runs.
package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// Route sends connections for a host pattern to another address.
type Route struct {
	// Host is a host name, or "*.suffix" to match every name below suffix.
	Host string
	// Port, when not empty, restricts the route to that destination port.
	Port string
	// Addr is the host:port actually dialled.
	Addr string
}

// ParseRoute parses "HOST[:PORT]=ADDR:PORT", for example
// "*.vault.azure.net=127.0.0.1:8443" or "169.254.169.254:80=127.0.0.1:8080".
func ParseRoute(s string) (Route, error) {
	from, to, ok := strings.Cut(s, "=")
	if !ok || from == "" || to == "" {
		return Route{}, fmt.Errorf("route %q: want HOST[:PORT]=ADDR:PORT, for example *.vault.azure.net=127.0.0.1:8443", s)
	}
	r := Route{Host: strings.ToLower(from), Addr: to}
	if h, p, err := net.SplitHostPort(from); err == nil {
		r.Host, r.Port = strings.ToLower(h), p
	}
	if r.Host == "" {
		return Route{}, fmt.Errorf("route %q: the host before \"=\" is empty; want HOST[:PORT]=ADDR:PORT, for example *.vault.azure.net=127.0.0.1:8443", s)
	}
	if _, port, err := net.SplitHostPort(to); err != nil {
		return Route{}, fmt.Errorf("route %q: target %q must be ADDR:PORT: %w", s, to, err)
	} else if port == "" {
		return Route{}, fmt.Errorf("route %q: target %q has no port; want ADDR:PORT such as 127.0.0.1:8443", s, to)
	}
	if strings.Contains(strings.TrimPrefix(r.Host, "*."), "*") {
		return Route{}, fmt.Errorf("route %q: only a leading \"*.\" wildcard is allowed in the host", s)
	}
	return r, nil
}

// String formats the route as ParseRoute reads it.
func (r Route) String() string {
	from := r.Host
	if r.Port != "" {
		from = net.JoinHostPort(r.Host, r.Port)
	}
	return from + "=" + r.Addr
}

func (r Route) matches(host, port string) bool {
	if r.Port != "" && r.Port != port {
		return false
	}
	host = strings.ToLower(host)
	if suffix, ok := strings.CutPrefix(r.Host, "*."); ok {
		return strings.HasSuffix(host, "."+suffix)
	}
	return host == r.Host
}

// Options are the test-only changes to how Azure is reached.
// The zero value is the production behaviour.
type Options struct {
	// Routes redirect connections; the first matching route wins.
	Routes []Route
	// CAFile is a PEM file of CA certificates that replaces the system roots.
	CAFile string
}

// IsZero reports whether o is the production behaviour.
func (o Options) IsZero() bool { return len(o.Routes) == 0 && o.CAFile == "" }

// resolve returns the address to dial for addr.
func (o Options) resolve(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	for _, r := range o.Routes {
		if r.matches(host, port) {
			return r.Addr
		}
	}
	return addr
}

// RootCAs loads CAFile, or returns nil (the system roots) when it is empty.
func (o Options) RootCAs() (*x509.CertPool, error) {
	if o.CAFile == "" {
		return nil, nil
	}
	data, err := os.ReadFile(o.CAFile)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", o.CAFile)
	}
	return pool, nil
}

// ClientConfig tunes one HTTP client.
type ClientConfig struct {
	// NoProxy disables HTTP proxies, as IMDS requires.
	NoProxy bool
	// Timeout bounds a whole request; zero means no limit.
	Timeout time.Duration
	// Logger, when set, gets one Debug line per request: method, host, path
	// (never the query or headers), status or error, and duration.
	Logger *slog.Logger
	// Wrap, when set, wraps the client's round tripper outermost, such as
	// to count requests for metrics.
	Wrap func(http.RoundTripper) http.RoundTripper
}

// NewClient returns an HTTP client that applies o. It never follows a
// redirect: Do fails with a *RedirectError (inside a *url.Error).
func NewClient(o Options, cfg ClientConfig) (*http.Client, error) {
	roots, err := o.RootCAs()
	if err != nil {
		return nil, err
	}
	base, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return nil, errors.New("http.DefaultTransport is not an *http.Transport")
	}
	tr := base.Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
	if cfg.NoProxy {
		tr.Proxy = nil
	}
	if len(o.Routes) > 0 {
		dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
		tr.Proxy = nil // a routed request must reach the route's address, not a proxy
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, o.resolve(addr))
		}
	}
	var rt http.RoundTripper = tr
	if cfg.Logger != nil {
		rt = logTransport{next: tr, log: cfg.Logger}
	}
	if cfg.Wrap != nil {
		rt = cfg.Wrap(rt)
	}
	return &http.Client{Transport: rt, Timeout: cfg.Timeout, CheckRedirect: refuseRedirect}, nil
}

// logTransport logs each request at Debug.
type logTransport struct {
	next http.RoundTripper
	log  *slog.Logger
}

func (t logTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !t.log.Enabled(r.Context(), slog.LevelDebug) {
		return t.next.RoundTrip(r)
	}
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	attrs := []any{"method", r.Method, "host", r.URL.Host, "path", r.URL.Path, "duration", time.Since(start)}
	if err != nil {
		t.log.DebugContext(r.Context(), "http request failed", append(attrs, "error", err)...)
		return resp, err
	}
	t.log.DebugContext(r.Context(), "http request", append(attrs, "status", resp.StatusCode)...)
	return resp, nil
}
