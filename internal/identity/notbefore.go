package identity

import (
	"context"
	"fmt"
	"time"

	"github.com/akvvm/akvvm/internal/transport"
)

// noteRetryAfter remembers the Retry-After of a 429 or 503 answer (capped
// at maxDelay) as the time before which no request is sent, across calls:
// the agent's next pass waits for it as a retry within this call does. A
// token clears it.
func (c *Credential) noteRetryAfter(r result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.err == nil {
		c.notBefore, c.heldBy = time.Time{}, nil
		return
	}
	if d, ok := serverDelay(r.status, r.retryAfter, c.now()); ok {
		c.notBefore, c.heldBy = c.now().Add(d), r.err
	}
}

// waitNotBefore waits until the time an earlier Retry-After asked for. The
// answer that asked counts as the latest failure meanwhile (failed hears
// of it), so a caller that stops waiting is told why there was no token.
func (c *Credential) waitNotBefore(ctx context.Context, failed func(error)) error {
	c.mu.Lock()
	until, cause := c.notBefore, c.heldBy
	c.mu.Unlock()
	wait := until.Sub(c.now())
	if wait <= 0 || cause == nil {
		return nil
	}
	if failed != nil {
		failed(cause)
	}
	c.log.Info("waiting for the identity endpoint's Retry-After before asking again", "identity", c.Describe(),
		"until", until, "wait", wait)
	if err := c.sleep(ctx, wait); err != nil {
		return fmt.Errorf("identity: %s: token request stopped while waiting for the endpoint's Retry-After (%s) after %v: %w",
			c.Describe(), until.UTC().Format(time.RFC3339), cause, err)
	}
	return nil
}

// serverDelay returns the wait a 429 or 503 answer's Retry-After asks for,
// capped at maxDelay; ok is false for any other answer.
func serverDelay(status int, retryAfter string, now time.Time) (time.Duration, bool) {
	if !honoursRetryAfter(status) {
		return 0, false
	}
	d, ok := transport.ParseRetryAfter(retryAfter, now)
	return min(d, maxDelay), ok
}
