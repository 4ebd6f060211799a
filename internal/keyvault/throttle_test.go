package keyvault

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// throttled answers a secret read with Key Vault's 429.
func throttled(w http.ResponseWriter, retryAfterMS string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("retry-after-ms", retryAfterMS)
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte(`{"error":{"code":"Throttled","message":"Request was not processed because too many requests were received."}}`))
}

// throttledDelay is the delay a failed call's error asks the agent to wait.
func throttledDelay(t *testing.T, err error) time.Duration {
	t.Helper()
	var kv *Error
	if !errors.As(err, &kv) || kv.StatusCode() != http.StatusTooManyRequests {
		t.Fatalf("Get = %v, want a 429 *keyvault.Error", err)
	}
	return kv.RetryAfter(time.Now())
}

// Machines throttled by the same 429 wait different times, each at least
// the vault's Retry-After; the spread doubles with each 429 in a row and
// starts again after an answer that is not a 429.
func TestThrottledRetryAfterIsSpread(t *testing.T) {
	k := newKVEnv(t)
	h := newHostileVault(t, k)
	var pass atomic.Bool
	h.set(func(w http.ResponseWriter, r *http.Request) bool {
		if pass.Load() {
			return false
		}
		throttled(w, "50")
		return true
	})
	const spread = 200 * time.Millisecond
	noRetry := policy.RetryOptions{MaxRetries: -1}
	machine := func() *Clients {
		c := k.clients(t, "", h.opts, noRetry)
		c.throttleSpread = spread
		return c
	}

	seen := map[time.Duration]bool{}
	for range 5 {
		d := throttledDelay(t, get(machine(), time.Minute))
		if d < 50*time.Millisecond || d >= 50*time.Millisecond+spread {
			t.Errorf("first 429: delay %s, want within [50ms, %s)", d, 50*time.Millisecond+spread)
		}
		seen[d] = true
	}
	if len(seen) == 1 {
		t.Errorf("5 machines throttled at once all wait %v, want the delays spread", seen)
	}

	c := machine()
	for n, limit := range []time.Duration{spread, 2 * spread, 4 * spread} {
		d := throttledDelay(t, get(c, time.Minute))
		if d < 50*time.Millisecond || d >= 50*time.Millisecond+limit {
			t.Errorf("429 number %d in a row: delay %s, want within [50ms, %s)", n+1, d, 50*time.Millisecond+limit)
		}
	}
	pass.Store(true)
	if err := get(c, time.Minute); err != nil {
		t.Fatalf("Get after the vault serves again: %v", err)
	}
	pass.Store(false)
	if d := throttledDelay(t, get(c, time.Minute)); d >= 50*time.Millisecond+spread {
		t.Errorf("first 429 after a served read: delay %s, want the spread reset (< %s)", d, 50*time.Millisecond+spread)
	}
}

// While a vault throttles a machine, the machine's other calls to it wait
// for the stretched Retry-After instead of being throttled too; both calls
// then succeed.
func TestThrottledVaultHoldsTheMachinesOtherCalls(t *testing.T) {
	k := newKVEnv(t)
	h := newHostileVault(t, k)
	var (
		mu       sync.Mutex
		first    time.Time
		arrivals []time.Time
	)
	hit := make(chan struct{})
	h.set(func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		if first.IsZero() {
			first = time.Now()
			throttled(w, "300")
			close(hit)
			return true
		}
		arrivals = append(arrivals, time.Now())
		return false // the emulator answers
	})
	c := k.clients(t, "", h.opts, policy.RetryOptions{RetryDelay: time.Millisecond})
	c.throttleSpread = 100 * time.Millisecond
	errs := make(chan error, 2)
	go func() { errs <- get(c, time.Minute) }()
	<-hit
	time.Sleep(100 * time.Millisecond) // the 429 reaches the client well within this
	go func() { errs <- get(c, time.Minute) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("Get: %v", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(arrivals) != 2 {
		t.Fatalf("the vault saw %d reads after the 429, want 2 (the retry and the other call)", len(arrivals))
	}
	for i, at := range arrivals {
		if gap := at.Sub(first); gap < 300*time.Millisecond {
			t.Errorf("read %d arrived %s after the 429, within its Retry-After of 300ms", i+1, gap)
		}
	}
}

// A call held by a throttled vault whose budget ends fails as throttled,
// with the 429 and its delay, without a request of its own.
func TestCallHeldByAThrottledVaultNamesThe429(t *testing.T) {
	k := newKVEnv(t)
	h := newHostileVault(t, k)
	h.set(func(w http.ResponseWriter, r *http.Request) bool {
		throttled(w, "5000")
		return true
	})
	c := k.clients(t, "", h.opts, policy.RetryOptions{MaxRetries: -1})
	c.throttleSpread = time.Millisecond
	first := throttledDelay(t, get(c, time.Minute))
	// Several held calls at once, each reading its error (go test -race
	// would see one response shared between them).
	const held = 4
	errs := make(chan error, held)
	start := time.Now()
	for range held {
		go func() {
			err := get(c, 200*time.Millisecond)
			_ = err.Error()
			errs <- err
		}()
	}
	for range held {
		err := <-errs
		if d := throttledDelay(t, err); d != first {
			t.Errorf("held call's delay %s, want the 429's %s", d, first)
		}
		if !strings.Contains(err.Error(), "429") {
			t.Errorf("error %q does not name the 429", err)
		}
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the held calls took %s, want their budget of 200ms", took)
	}
	if n := h.reads.Load(); n != 1 {
		t.Errorf("the vault saw %d reads, want 1: the held calls send none", n)
	}
}

// The 429s to one burst of a machine's concurrent calls are one throttled
// window: each gets the first spread, not a doubled one.
func TestConcurrent429sCountOnce(t *testing.T) {
	k := newKVEnv(t)
	h := newHostileVault(t, k)
	const calls = 4
	var arrived sync.WaitGroup
	arrived.Add(calls)
	h.set(func(w http.ResponseWriter, r *http.Request) bool {
		arrived.Done()
		arrived.Wait() // every call is in flight before any is answered
		throttled(w, "50")
		return true
	})
	const spread = 400 * time.Millisecond
	c := k.clients(t, "", h.opts, policy.RetryOptions{MaxRetries: -1})
	c.throttleSpread = spread
	var logs bytes.Buffer // written before each call returns its 429
	c.log = slog.New(slog.NewTextHandler(&logs, nil))
	errs := make(chan error, calls)
	for range calls {
		go func() { errs <- get(c, time.Minute) }()
	}
	for range calls {
		if d := throttledDelay(t, <-errs); d >= 50*time.Millisecond+spread {
			t.Errorf("a 429 of the first burst: delay %s, want within the first spread (< %s)", d, 50*time.Millisecond+spread)
		}
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "vault=myvault.vault.azure.net") || !strings.Contains(lines[0], "wait=") {
		t.Errorf("log of one throttled burst:\n%s\nwant one line naming the vault and the wait", logs.String())
	}
}
