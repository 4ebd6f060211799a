package handler

import "time"

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
