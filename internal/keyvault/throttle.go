package keyvault

import (
	"bytes"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/akvvm/akvvm/internal/transport"
)

// ThrottleSpread is the random share added to a vault's Retry-After after
// its first 429 in a row; it doubles with each further 429 in a row, up to
// MaxThrottleSpread. Key Vault's limit counts fixed 10-second windows.
const ThrottleSpread = 10 * time.Second

// MaxThrottleSpread bounds the spread: 10,000 machines asking 10 secrets
// each need 250 s of Key Vault's 4,000 requests per 10 s.
const MaxThrottleSpread = 5 * time.Minute

// throttle spreads one machine's requests to one vault after the vault
// answers 429. Key Vault's Retry-After names the end of the throttled
// window, the same instant for every machine throttled in it, so a fleet
// that retries at that instant is throttled again, window after window.
// After a 429 the Retry-After is stretched by a random part of a spread
// that doubles with each 429 in a row and resets on any other answer; the
// stretched delay replaces the response's retry-after-ms, so azcore's
// retry, the agent's back-off and the status all wait the same time. Until
// it has passed, this machine's new calls to the vault wait for it too
// instead of being throttled on their own.
type throttle struct {
	spread time.Duration // ThrottleSpread, shorter in tests
	vault  string        // the vault's host, for the log
	log    *slog.Logger  // one line per throttled burst; nil: none

	mu      sync.Mutex
	until   time.Time
	strikes int           // throttled bursts in a row
	last    *throttled429 // the latest 429, for the calls it holds
}

// throttled429 is a copy of a 429 answer. Each held call gets its own
// response made from it: a response's body is read by whoever reports
// it, so one shared between calls would be read concurrently.
type throttled429 struct {
	status string
	header http.Header
	body   []byte
}

// errorFor returns the 429 as azcore reports it, as an answer to req.
func (a *throttled429) errorFor(req *http.Request) error {
	return runtime.NewResponseError(&http.Response{
		Status: a.status, StatusCode: http.StatusTooManyRequests, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: a.header.Clone(), Body: io.NopCloser(bytes.NewReader(a.body)), ContentLength: int64(len(a.body)), Request: req,
	})
}

// hit records a 429 that asked for retryAfter and returns the stretched
// delay. Only a 429 to a request sent while no delay was running counts
// as a new one in a row: the answers to the machine's other requests of
// the same burst are the same throttled window.
func (t *throttle) hit(retryAfter time.Duration) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	burst := t.strikes == 0 || !now.Before(t.until)
	if burst {
		t.strikes++
	}
	spread := t.spread
	for i := 1; i < t.strikes && spread < MaxThrottleSpread; i++ {
		spread *= 2
	}
	spread = min(spread, MaxThrottleSpread)
	d := max(retryAfter, 0) + rand.N(spread)
	if u := now.Add(d); u.After(t.until) {
		t.until = u
	}
	if burst && t.log != nil {
		t.log.Info("vault is throttling this machine (HTTP 429): its requests to the vault wait",
			"vault", t.vault, "retryAfter", retryAfter.Round(time.Millisecond), "wait", d.Round(time.Millisecond), "inARow", t.strikes)
	}
	return d
}

// answered records an answer other than 429: the vault serves again.
func (t *throttle) answered() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.strikes = 0
}

// held returns how long a new call must still wait, and the 429 that
// made it wait.
func (t *throttle) held() (time.Duration, *throttled429) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return time.Until(t.until), t.last
}

// setLast keeps the 429 that held calls get as their cause.
func (t *throttle) setLast(a *throttled429) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.last = a
}

// throttleMark is the per-retry policy, next to the transport, that sees
// every answer: a 429 gets its stretched retry-after-ms.
type throttleMark struct{ t *throttle }

func (p throttleMark) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	if err != nil || resp == nil {
		return resp, err
	}
	if resp.StatusCode != http.StatusTooManyRequests {
		if !isChallenge(resp) {
			p.t.answered()
		}
		return resp, err
	}
	d := p.t.hit(retryAfterOf(resp, time.Now()))
	resp.Header.Del("x-ms-retry-after-ms")
	resp.Header.Set("retry-after-ms", strconv.FormatInt(max(d.Milliseconds(), 1), 10))
	resp.Header.Set("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
	body, perr := runtime.Payload(resp) // read once here; azcore keeps it for the caller
	if perr == nil {
		p.t.setLast(&throttled429{status: resp.Status, header: resp.Header.Clone(), body: body}) // with the stretched delay
	}
	return resp, err
}

// throttleWait is the per-call policy that holds a new call while the
// vault throttles this machine. A call whose context ends while held
// fails with the 429 that held it as its cause.
type throttleWait struct{ t *throttle }

func (p throttleWait) Do(req *policy.Request) (*http.Response, error) {
	wait, last := p.t.held()
	if wait <= 0 {
		return req.Next()
	}
	ctx := req.Raw().Context()
	if tr := triesFrom(ctx); tr != nil && last != nil {
		tr.record(last.errorFor(req.Raw()))
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
		return req.Next()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// retryAfterOf reads the delay a response asks for, as azcore does
// (retry-after-ms, x-ms-retry-after-ms, then Retry-After), or 0.
func retryAfterOf(resp *http.Response, now time.Time) time.Duration {
	h := resp.Header
	for _, name := range []string{"retry-after-ms", "x-ms-retry-after-ms"} {
		if ms, err := strconv.ParseInt(h.Get(name), 10, 64); err == nil && ms > 0 {
			return time.Duration(ms) * time.Millisecond
		}
	}
	d, _ := transport.ParseRetryAfter(h.Get("Retry-After"), now)
	return d
}
