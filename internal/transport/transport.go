// Package transport builds the HTTP clients akvvm uses to reach Azure.
//
// Production uses the defaults: system DNS and the system trust store. Two
// explicit options exist for tests, demos and the built-in emulator, and
// production never sets them: routes that send connections for chosen host
// names to another address (like curl's --connect-to), and a CA file that
// replaces the system trust store. Host names, the TLS server name checked,
// and the Host header are never changed, so the same code path runs.
//
// Clients speak HTTP/2 where the server offers it by ALPN (one connection
// per host for every request) and HTTP/1.1 otherwise, keeping as many idle
// connections per host as requests are sent at once (ClientConfig.Concurrency).
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
		if p == "" {
			return Route{}, fmt.Errorf("route %q: the port after %q is empty; write HOST=ADDR:PORT to match every port, or HOST:PORT=ADDR:PORT", s, h+":")
		}
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
	// Concurrency is the most requests the client's user sends to one host
	// at once, such as the agent's workers. Over HTTP/1.1 the client keeps
	// enough idle connections per host (IdleConnsPerHost) that none is
	// closed only to be opened again for the next request; zero means Go's
	// default of 2.
	Concurrency int
}

// IdleConnsPerHost is the number of idle connections per host a client
// keeps for concurrency requests at once: one for each, and one more. A
// request that finds no idle connection dials a new one, which can happen
// while another request's connection is still on its way back to the
// pool; keeping the connection that race leaves too means no connection is
// ever closed for want of room, and with concurrency + 1 open a request
// always finds one idle. Never fewer than Go's default
// (http.DefaultMaxIdleConnsPerHost, 2); zero concurrency means that default.
func IdleConnsPerHost(concurrency int) int {
	if concurrency <= 0 {
		return http.DefaultMaxIdleConnsPerHost
	}
	return max(concurrency+1, http.DefaultMaxIdleConnsPerHost)
}

// HTTP/2 health checks: a connection that received no frame for
// h2SendPingTimeout is sent a ping, and closed when no answer arrives
// within h2PingTimeout. Every request to a host shares one HTTP/2
// connection, so one that went silent (a middlebox dropped it) would
// otherwise hold every request and retry until its try timeout.
const (
	h2SendPingTimeout = 30 * time.Second
	h2PingTimeout     = 15 * time.Second
)

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
	// HTTP/2 where the server offers it by ALPN, as Key Vault does: every
	// request to a host then shares one connection. Said here rather than
	// left to the ForceAttemptHTTP2 that Clone copies, which is what keeps
	// HTTP/2 on with a TLSClientConfig of one's own.
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetHTTP1(true)
	tr.Protocols.SetHTTP2(true)
	tr.HTTP2 = &http.HTTP2Config{SendPingTimeout: h2SendPingTimeout, PingTimeout: h2PingTimeout}
	tr.MaxIdleConnsPerHost = IdleConnsPerHost(cfg.Concurrency)
	tr.MaxIdleConns = max(tr.MaxIdleConns, tr.MaxIdleConnsPerHost)
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
