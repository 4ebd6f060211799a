package fleet

import (
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/akvvm/akvvm/internal/emulator"
)

// throttleWindow is Key Vault's (and the emulator's) throttling window.
const throttleWindow = 10 * time.Second

// vaultRequest is one request the emulator's vault received.
type vaultRequest struct {
	at     time.Time
	status int
	op     string
	phase  int
}

// recorder keeps every vault request the emulator received (its
// Config.OnRequest), with the virtual time it arrived.
type recorder struct {
	mu    sync.Mutex
	reqs  []vaultRequest
	phase int // the phase requests arriving now belong to
}

// next starts the next phase: later requests belong to it.
func (r *recorder) next() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.phase++
	return r.phase
}

func (r *recorder) add(q emulator.Request) {
	if q.Vault == "" {
		return // a token request to the identity endpoint, not the vault's
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, vaultRequest{at: q.Time, status: q.Status, op: q.Op, phase: r.phase})
	r.mu.Unlock()
}

// of returns the requests that arrived during phase, by time.
func (r *recorder) of(phase int) []vaultRequest {
	r.mu.Lock()
	var out []vaultRequest
	for _, q := range r.reqs {
		if q.phase == phase {
			out = append(out, q)
		}
	}
	r.mu.Unlock()
	slices.SortStableFunc(out, func(a, b vaultRequest) int { return a.at.Compare(b.at) })
	return out
}

// Traffic is what the vault received during a phase.
type Traffic struct {
	// Received counts every vault request; Throttled those answered 429.
	Received, Throttled int
	// ByOp counts the requests per emulator operation (get, list-versions,
	// list-secrets, ...), 429s included.
	ByOp map[string]int
	// PeakWindow is the most requests received in one of the emulator's
	// fixed 10 s windows (aligned as the throttle's), PeakAdmitted the most
	// it answered other than 429 in one; PeakSliding the most received in
	// any 10 s.
	PeakWindow, PeakAdmitted, PeakSliding int
	// ThrottledWindows counts the fixed windows with at least one 429.
	ThrottledWindows int
}

// traffic sums reqs, which are sorted by time.
func traffic(reqs []vaultRequest) Traffic {
	t := Traffic{ByOp: map[string]int{}}
	type win struct{ got, ok, throttled int }
	windows := map[time.Time]*win{}
	for _, q := range reqs {
		t.Received++
		t.ByOp[q.op]++
		w := windows[q.at.Truncate(throttleWindow)]
		if w == nil {
			w = &win{}
			windows[q.at.Truncate(throttleWindow)] = w
		}
		w.got++
		if q.status == http.StatusTooManyRequests {
			t.Throttled++
			w.throttled++
		} else {
			w.ok++
		}
	}
	for _, w := range windows {
		t.PeakWindow = max(t.PeakWindow, w.got)
		t.PeakAdmitted = max(t.PeakAdmitted, w.ok)
		if w.throttled > 0 {
			t.ThrottledWindows++
		}
	}
	lo := 0
	for hi := range reqs {
		for !reqs[lo].at.Add(throttleWindow).After(reqs[hi].at) {
			lo++
		}
		t.PeakSliding = max(t.PeakSliding, hi-lo+1)
	}
	return t
}

// counting counts the requests one agent's HTTP client sends (its
// transport.ClientConfig.Wrap, as the metrics use it).
type counting struct {
	next      http.RoundTripper
	requests  *atomic.Int64
	throttled *atomic.Int64
}

func (c counting) RoundTrip(r *http.Request) (*http.Response, error) {
	c.requests.Add(1)
	resp, err := c.next.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		c.throttled.Add(1)
	}
	return resp, err
}
