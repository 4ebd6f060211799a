package transport

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// serveOnce accepts connections on a local port and acts out how each one
// fails after reading the request.
func serveOnce(t *testing.T, act func(c *net.TCPConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = http.ReadRequest(bufio.NewReader(c))
			act(c.(*net.TCPConn))
		}
	}()
	return ln.Addr().String()
}

// get sends a GET and reads the whole body, as the SDK does.
func get(addr string) error {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	return err
}

func TestNameConnErrorNamesWhatHappenedAndTheHost(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := closed.Addr().String()
	closed.Close()
	for _, tc := range []struct {
		name string
		addr string
		want []string
	}{
		{"reset", serveOnce(t, func(c *net.TCPConn) { _ = c.SetLinger(0); c.Close() }), []string{"reset by the peer", "(connection reset by peer)"}},
		{"closed before any response", serveOnce(t, func(c *net.TCPConn) { c.Close() }), []string{"closed by the peer before any response arrived (EOF)"}},
		{"truncated body", serveOnce(t, func(c *net.TCPConn) {
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{\"value\":")
			c.Close()
		}), []string{"closed before the response was complete (unexpected EOF)"}},
		{"refused", refusedAddr, []string{"refused (connection refused)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := get(tc.addr)
			if raw == nil {
				t.Fatal("request did not fail")
			}
			err := NameConnError("myvault.vault.azure.net", raw)
			var ce *ConnError
			if !errors.As(err, &ce) {
				t.Fatalf("%v (%T) not named", raw, raw)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "connection to myvault.vault.azure.net ") {
				t.Errorf("%q does not name the host first", msg)
			}
			matched := false
			for _, w := range tc.want {
				matched = matched || strings.Contains(msg, w)
			}
			// A reset can race the read of the request and arrive as a plain
			// close; both are the peer ending the connection.
			if !matched && !(tc.name == "reset" && strings.Contains(msg, "(EOF)")) {
				t.Errorf("%q does not say %q", msg, tc.want)
			}
			if !errors.Is(err, raw) {
				t.Errorf("the original error is not wrapped")
			}
			if NameConnError("other", err) != err {
				t.Errorf("naming twice changed the error")
			}
		})
	}
	if err := errors.New("tls: bad certificate"); NameConnError("h", err) != err {
		t.Errorf("another error was renamed")
	}
}
