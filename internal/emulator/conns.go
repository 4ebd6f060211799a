package emulator

import (
	"cmp"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// Connections counts what the HTTPS listener accepted since the start or
// the last ResetLog: TCP connections, and TLS handshakes by the server name
// the client asked for (SNI) and the protocol negotiated (ALPN).
type Connections struct {
	// Accepted is the number of TCP connections accepted, the admin
	// API's own included.
	Accepted int `json:"accepted"`
	// Handshakes are the completed TLS handshakes, one entry per server
	// name and protocol, sorted by server name then protocol.
	Handshakes []Handshakes `json:"handshakes"`
}

// Handshakes is the number of TLS handshakes for one server name and protocol.
type Handshakes struct {
	// ServerName is the host the client named in SNI, such as
	// "myvault.vault.azure.net"; empty when it named none (a client that
	// dialled an IP address, like the admin client).
	ServerName string `json:"serverName"`
	// Protocol is the protocol negotiated by ALPN: "h2" or "http/1.1";
	// empty when the client offered none (it then speaks HTTP/1.1).
	Protocol string `json:"protocol"`
	// Count is the number of handshakes, resumed ones included.
	Count int `json:"count"`
	// Resumed is how many of them resumed an earlier TLS session.
	Resumed int `json:"resumed,omitempty"`
}

// Vault returns the vault name of the server name (its first label), or ""
// when the server name is empty.
func (h Handshakes) Vault() string {
	name, _, _ := strings.Cut(h.ServerName, ".")
	return name
}

// Total is the number of handshakes for serverName over every protocol;
// an empty serverName matches any.
func (c Connections) Total(serverName string) int {
	n := 0
	for _, h := range c.Handshakes {
		if serverName == "" || strings.EqualFold(h.ServerName, serverName) {
			n += h.Count
		}
	}
	return n
}

type handshakeKey struct{ serverName, protocol string }

type handshakeCount struct{ count, resumed int }

// connStats counts the HTTPS listener's connections and handshakes.
type connStats struct {
	mu         sync.Mutex
	accepted   int
	handshakes map[handshakeKey]handshakeCount
}

func newConnStats() *connStats { return &connStats{handshakes: map[handshakeKey]handshakeCount{}} }

// connState is the server's ConnState hook: it counts new connections.
func (s *connStats) connState(_ net.Conn, state http.ConnState) {
	if state != http.StateNew {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accepted++
}

// verifyConnection is the TLS config's VerifyConnection hook: it counts
// every handshake that got as far as choosing a protocol, and never fails.
func (s *connStats) verifyConnection(cs tls.ConnectionState) error {
	k := handshakeKey{strings.ToLower(cs.ServerName), cs.NegotiatedProtocol}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.handshakes[k]
	c.count++
	if cs.DidResume {
		c.resumed++
	}
	s.handshakes[k] = c
	return nil
}

func (s *connStats) snapshot() Connections {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Connections{Accepted: s.accepted, Handshakes: make([]Handshakes, 0, len(s.handshakes))}
	for k, c := range s.handshakes {
		out.Handshakes = append(out.Handshakes, Handshakes{ServerName: k.serverName, Protocol: k.protocol, Count: c.count, Resumed: c.resumed})
	}
	slices.SortFunc(out.Handshakes, func(a, b Handshakes) int {
		return cmp.Or(strings.Compare(a.ServerName, b.ServerName), strings.Compare(a.Protocol, b.Protocol))
	})
	return out
}

func (s *connStats) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accepted = 0
	s.handshakes = map[handshakeKey]handshakeCount{}
}

// Connections returns the connection and handshake counters of the HTTPS
// listener since the start or the last ResetLog.
func (e *Emulator) Connections() Connections { return e.conns.snapshot() }

// connKey is the request context key of the request's connection.
type connKey struct{}

// withConn is the server's ConnContext hook: it keeps the connection in
// the context of its requests, so that faults can close an HTTP/2
// connection, which cannot be hijacked.
func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// requestConn returns the connection r arrived on, or nil.
func requestConn(r *http.Request) net.Conn {
	c, _ := r.Context().Value(connKey{}).(net.Conn)
	return c
}
