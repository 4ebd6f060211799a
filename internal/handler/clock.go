package handler

import (
	"context"
	"time"
)

// ScaledClock runs time faster by Scale for the agent's schedule: a
// back-off of an hour passes in 3.6 s at Scale 1000. It is a test-only
// option that lets end-to-end tests see retries run out without waiting.
type ScaledClock struct {
	Start time.Time
	Scale float64
}

// Now returns the scaled time.
func (c ScaledClock) Now() time.Time {
	return c.Start.Add(time.Duration(float64(time.Since(c.Start)) * c.Scale))
}

// After fires after d of scaled time.
func (c ScaledClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	time.AfterFunc(time.Duration(float64(d)/c.Scale), func() { ch <- c.Now() })
	return ch
}

// MinScaledTimeout is the shortest real time WithTimeout gives: a check's
// budget of 2 minutes is 60 ms at Scale 2000, too short for a first TLS
// handshake on a loaded test machine. Up to Scale 600 the budget is exact.
const MinScaledTimeout = 200 * time.Millisecond

// WithTimeout returns a context that ends after d of scaled time, but not
// before MinScaledTimeout of real time.
func (c ScaledClock) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, max(time.Duration(float64(d)/c.Scale), MinScaledTimeout))
}
