package identity

import (
	"net/http"
	"time"
)

const (
	// DefaultMaxRetries follows the IMDS retry guidance (5 retries).
	DefaultMaxRetries = 5

	// backoffDelta is the IMDS guidance's delta: delays grow as
	// (2^(n-1) - 1) * delta, that is 0, 2, 6, 14, 30 s.
	backoffDelta = 2 * time.Second
	// minDelay is the shortest wait between attempts. The guidance's first
	// delay is 0 s, but it also asks for at least 1 s after a 5xx; 1 s
	// for every first retry satisfies both.
	minDelay = time.Second
	// maxDelay caps every wait, including a server's Retry-After, so a
	// misbehaving endpoint cannot park the agent; the guidance's maximum.
	maxDelay = 60 * time.Second
	// jitterSpread makes delays vary by ±20 % so that many VMs restarted
	// together do not retry in lockstep.
	jitterSpread = 0.2
)

// backoff returns how long to wait before retry n (1 for the first retry).
// jitter is a number in [0, 1): 0.5 gives the nominal delay, 0 gives 20 %
// less and values near 1 give up to 20 % more. The result lies within
// [minDelay, maxDelay]. It is a pure function so the schedule can be tested.
func backoff(n int, jitter float64) time.Duration {
	if n < 1 {
		n = 1
	}
	nominal := maxDelay
	if n <= 7 { // beyond 7 the nominal delay is far above maxDelay anyway
		nominal = time.Duration((1<<(n-1))-1) * backoffDelta
	}
	if jitter < 0 || jitter >= 1 {
		jitter = 0.5
	}
	d := time.Duration(float64(nominal) * (1 - jitterSpread + 2*jitterSpread*jitter))
	return min(max(d, minDelay), maxDelay)
}

// retryable reports whether the IMDS guidance says to retry status.
func retryable(status int) bool {
	switch {
	case status == http.StatusNotFound, status == http.StatusGone, status == http.StatusTooManyRequests:
		return true
	case status >= 500 && status <= 599:
		return true
	}
	return false
}

// retryDelay picks the wait before retry n after a response with status and
// the given Retry-After header: the server's value on 429 and 503 (capped
// at maxDelay), the back-off schedule otherwise.
func retryDelay(n, status int, retryAfter string, now time.Time, jitter float64) time.Duration {
	if d, ok := serverDelay(status, retryAfter, now); ok {
		return d
	}
	return backoff(n, jitter)
}

// honoursRetryAfter reports the statuses whose Retry-After the IMDS
// guidance honours.
func honoursRetryAfter(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
}
