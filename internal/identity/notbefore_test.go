package identity

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// timedEndpoint answers from a script (the last reply repeats) and records
// the fake clock's time of every request.
type timedEndpoint struct {
	*httptest.Server
	clock   *fakeClock
	mu      sync.Mutex
	replies []reply
	at      []time.Time
}

func newTimedEndpoint(t *testing.T, clock *fakeClock, replies ...reply) *timedEndpoint {
	t.Helper()
	e := &timedEndpoint{clock: clock, replies: replies}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.at = append(e.at, clock.Now())
		rep := e.replies[0]
		if len(e.replies) > 1 {
			e.replies = e.replies[1:]
		}
		e.mu.Unlock()
		for k, v := range rep.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(rep.status)
		_, _ = w.Write([]byte(rep.body))
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *timedEndpoint) times() []time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]time.Time(nil), e.at...)
}

// throttledCred is a credential that never retries within a call, on a
// fake clock that its sleeps advance.
func throttledCred(t *testing.T, replies ...reply) (*Credential, *fakeClock, *timedEndpoint) {
	t.Helper()
	clock := &fakeClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	e := newTimedEndpoint(t, clock, replies...)
	c, err := New(Options{Endpoint: e.URL + "/metadata/identity", Clock: clock.Now, MaxRetries: -1,
		Sleep: func(ctx context.Context, d time.Duration) error { clock.Advance(d); return ctx.Err() }})
	if err != nil {
		t.Fatal(err)
	}
	return c, clock, e
}

var throttledReply = reply{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "10"},
	body: `{"error":"throttled","error_description":"too many requests"}`}

// The endpoint's Retry-After carries across calls: 20 calls a second
// apart (the agent's passes) send their requests at least 10 s apart.
func TestRetryAfterCarriesAcrossCalls(t *testing.T) {
	c, clock, e := throttledCred(t, throttledReply)
	for range 20 {
		if _, err := getToken(t, c, vaultScope); err == nil || !strings.Contains(err.Error(), "HTTP 429 throttled") {
			t.Fatalf("GetToken = %v, want the 429", err)
		}
		clock.Advance(time.Second)
	}
	at := e.times()
	if len(at) != 20 {
		t.Fatalf("%d requests, want 20", len(at))
	}
	for i := 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap < 10*time.Second {
			t.Errorf("request %d came %s after the previous one, before its Retry-After of 10 s", i+1, gap)
		}
	}
}

// A token clears the wait; the next call asks at once.
func TestTokenClearsTheRetryAfter(t *testing.T) {
	c, clock, e := throttledCred(t, throttledReply, okReply(60))
	_, _ = getToken(t, c, vaultScope)
	if _, err := getToken(t, c, vaultScope); err != nil {
		t.Fatal(err)
	}
	if gap := e.times()[1].Sub(e.times()[0]); gap != 10*time.Second {
		t.Errorf("the second request came %s after the first, want the Retry-After of 10 s", gap)
	}
	clock.Advance(time.Minute) // past the token's refresh time
	before := clock.Now()
	if _, err := getToken(t, c, vaultScope); err != nil {
		t.Fatal(err)
	}
	if last := e.times()[2]; !last.Equal(before) {
		t.Errorf("after a token, the next request waited %s", last.Sub(before))
	}
}

// A caller that stops waiting for the Retry-After is told the answer that
// asked for it.
func TestGivingUpDuringTheRetryAfterNamesTheCause(t *testing.T) {
	c, _, e := throttledCred(t, throttledReply)
	_, _ = getToken(t, c, vaultScope)
	c.sleep = sleepContext // really wait, so the caller's deadline comes first
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.GetToken(ctx, tokenOptions(vaultScope))
	var gaveUp *GaveUpError
	if !errors.As(err, &gaveUp) || !strings.Contains(err.Error(), "HTTP 429 throttled") || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("GetToken = %v, want a GaveUpError naming the 429", err)
	}
	if n := len(e.times()); n != 1 {
		t.Errorf("%d requests, want none during the Retry-After", n)
	}
}
