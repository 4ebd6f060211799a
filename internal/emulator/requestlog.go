package emulator

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// maxLogEntries bounds the request log of a long-running emulator; counters are not bounded.
const maxLogEntries = 100000

// Request is one entry of the request log. It never holds query strings,
// headers or bodies.
type Request struct {
	Time   time.Time `json:"time"`
	Vault  string    `json:"vault,omitempty"`
	Op     string    `json:"op"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	// Status is the HTTP status; 0 when a fault closed the connection.
	Status int `json:"status"`
	// ClientID is the authenticated identity (vault requests) or the identity
	// a token was issued to (token requests).
	ClientID string `json:"clientId,omitempty"`
	// Selector is the query parameter that named the identity of a token
	// request (client_id, object_id or msi_res_id; several joined by
	// commas when a request named more than one); empty for the
	// system-assigned identity. Never its value.
	Selector string `json:"selector,omitempty"`
}

// Counter is the number of requests for one operation and vault.
type Counter struct {
	Op    string `json:"op"`
	Vault string `json:"vault,omitempty"`
	Count int    `json:"count"`
}

type countKey struct{ op, vault string }

type requestLog struct {
	mu      sync.Mutex
	entries []Request
	counts  map[countKey]int
}

func newRequestLog() *requestLog { return &requestLog{counts: map[countKey]int{}} }

func (l *requestLog) add(r Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.entries) >= maxLogEntries {
		l.entries = slices.Delete(l.entries, 0, len(l.entries)/10)
	}
	l.entries = append(l.entries, r)
	l.counts[countKey{r.Op, strings.ToLower(r.Vault)}]++
}

// Requests returns a copy of the request log, oldest first. An empty log is
// an empty, non-nil slice, so the admin API answers [] rather than null.
func (e *Emulator) Requests() []Request {
	e.reqlog.mu.Lock()
	defer e.reqlog.mu.Unlock()
	return append(make([]Request, 0, len(e.reqlog.entries)), e.reqlog.entries...)
}

// Count returns how many requests for op reached vault since the last
// ResetLog. An empty op or vault matches any.
func (e *Emulator) Count(op, vault string) int {
	e.reqlog.mu.Lock()
	defer e.reqlog.mu.Unlock()
	n := 0
	for k, c := range e.reqlog.counts {
		if (op == "" || k.op == op) && (vault == "" || k.vault == strings.ToLower(vault)) {
			n += c
		}
	}
	return n
}

// Counts returns every counter, sorted by operation then vault.
func (e *Emulator) Counts() []Counter {
	e.reqlog.mu.Lock()
	defer e.reqlog.mu.Unlock()
	out := make([]Counter, 0, len(e.reqlog.counts))
	for k, c := range e.reqlog.counts {
		out = append(out, Counter{Op: k.op, Vault: k.vault, Count: c})
	}
	slices.SortFunc(out, func(a, b Counter) int {
		if c := strings.Compare(a.Op, b.Op); c != 0 {
			return c
		}
		return strings.Compare(a.Vault, b.Vault)
	})
	return out
}

// ResetLog empties the request log and the counters, the connection
// counters (Connections) included.
func (e *Emulator) ResetLog() {
	e.reqlog.mu.Lock()
	e.reqlog.entries = nil
	e.reqlog.counts = map[countKey]int{}
	e.reqlog.mu.Unlock()
	e.conns.reset()
}
