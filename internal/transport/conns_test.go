package transport

import (
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestIdleConnsPerHost(t *testing.T) {
	for _, tc := range []struct{ concurrency, want int }{
		{0, http.DefaultMaxIdleConnsPerHost},
		{-1, http.DefaultMaxIdleConnsPerHost},
		{1, 2},
		{4, 5},
		{64, 65},
	} {
		if got := IdleConnsPerHost(tc.concurrency); got != tc.want {
			t.Errorf("IdleConnsPerHost(%d) = %d, want %d", tc.concurrency, got, tc.want)
		}
	}
}

// tlsServer starts a TLS server for example.com that counts the
// connections it accepts, offering HTTP/2 when h2 is set, and returns a
// client for concurrency and the counter.
func tlsServer(t *testing.T, h2 bool, concurrency int) (*http.Client, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Proto)
	}))
	srv.EnableHTTP2 = h2
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	route, err := ParseRoute("*.example.com=" + strings.TrimPrefix(srv.URL, "https://"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(Options{Routes: []Route{route}, CAFile: caFile}, ClientConfig{Concurrency: concurrency})
	if err != nil {
		t.Fatal(err)
	}
	return c, &conns
}

// getAll sends requests GETs from each of workers goroutines, one after
// another, and returns the protocols answered.
func getAll(t *testing.T, c *http.Client, workers, requests int) map[string]int {
	t.Helper()
	var mu sync.Mutex
	protos := map[string]int{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range requests {
				resp, err := c.Get("https://vault1.example.com/x")
				if err != nil {
					t.Error(err)
					return
				}
				body, err := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				protos[string(body)]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return protos
}

// TestClientKeepsAConnectionPerWorker: over HTTP/1.1, workers sending
// requests to one host one after another open connections only in their
// first moments, while a request can find none idle because the connection
// another one freed is still on its way back to the pool. Once
// IdleConnsPerHost (workers + 1) are open, a request always finds one idle
// and none is closed for want of room: a second round of the same requests
// opens at most the one a first round left missing. With Go's default of 2
// idle connections per host, every round closes connections and opens new
// ones.
func TestClientKeepsAConnectionPerWorker(t *testing.T) {
	const workers, requests = 4, 200
	c, conns := tlsServer(t, false, workers)
	protos := getAll(t, c, workers, requests)
	if protos["HTTP/1.1"] != workers*requests {
		t.Errorf("answers %v, want %d over HTTP/1.1", protos, workers*requests)
	}
	first := conns.Swap(0)
	getAll(t, c, workers, requests)
	if n := conns.Load(); n > 1 {
		t.Errorf("the second round of %d requests opened %d more connections (the first %d), want at most 1", workers*requests, n, first)
	}
	tr := c.Transport.(*http.Transport)
	if tr.MaxIdleConnsPerHost != workers+1 || tr.MaxIdleConns < tr.MaxIdleConnsPerHost {
		t.Errorf("MaxIdleConnsPerHost %d, MaxIdleConns %d", tr.MaxIdleConnsPerHost, tr.MaxIdleConns)
	}
}

// TestClientNegotiatesHTTP2 with a CA file and routes of its own, which
// make Go's transport fall back to HTTP/1.1 unless HTTP/2 is asked for.
// Once one request has opened a connection (the agent's probe of a vault
// does, before its workers start), every request shares it, however many
// workers send. (Requests that all start before any connection is open
// each dial one, and the spares close once idle.)
func TestClientNegotiatesHTTP2(t *testing.T) {
	const workers, requests = 4, 50
	c, conns := tlsServer(t, true, workers)
	if protos := getAll(t, c, 1, 1); protos["HTTP/2.0"] != 1 {
		t.Fatalf("answer %v, want HTTP/2.0", protos)
	}
	protos := getAll(t, c, workers, requests)
	if protos["HTTP/2.0"] != workers*requests {
		t.Errorf("answers %v, want %d over HTTP/2.0", protos, workers*requests)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
	if h2 := c.Transport.(*http.Transport).HTTP2; h2 == nil || h2.SendPingTimeout <= 0 {
		t.Errorf("HTTP2 config %+v: no health check of a silent connection", h2)
	}
}

// TestClientFallsBackToHTTP1 when the server offers nothing else, as a
// proxy that cannot speak HTTP/2.
func TestClientFallsBackToHTTP1(t *testing.T) {
	c, _ := tlsServer(t, false, 1)
	if protos := getAll(t, c, 1, 1); protos["HTTP/1.1"] != 1 {
		t.Errorf("answer %v, want HTTP/1.1", protos)
	}
}
