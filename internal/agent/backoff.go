package agent

import (
	"math/rand/v2"
	"time"
)

// AttemptBudget bounds the network part of one check of a certificate
// (identity, listing, downloads, with every retry inside them): the
// context of those calls ends after it, on the agent's clock.
const AttemptBudget = 2 * time.Minute

// initialBackoffCap is the longest nominal delay between two attempts of
// the initial sync.
const initialBackoffCap = 3 * time.Minute

// initialBackoff is the nominal delay from the start of attempt n
// (1-based) of a failed first download to the start of the next. It
// doubles from 5 s and is capped at 3 min, so 25 attempts that fail at
// once end after about 59 min: time for an access grant made later in the
// same deployment to take effect.
func initialBackoff(n int) time.Duration {
	return capped(5*time.Second, n, initialBackoffCap)
}

// initialGapLimit is the longest time from the start of initial attempt n
// to the start of the next, whatever the failure: the back-off with the
// most jitter, or the attempt's whole budget when that is longer. A
// Retry-After never pushes the next attempt beyond it.
func initialGapLimit(n int) time.Duration {
	return max(maxJitter(initialBackoff(n)), AttemptBudget)
}

// InitialSyncBound is the latest time after the start of the first
// attempt at which the last of attempts failed attempts ends: every gap at
// its limit and the last attempt using its whole budget. For 25 attempts
// it is 74 min 20 s, before the guest agent's 90-minute wait for dependent
// extensions runs out, so the real error is reported.
func InitialSyncBound(attempts int) time.Duration {
	var d time.Duration
	for n := 1; n < attempts; n++ {
		d += initialGapLimit(n)
	}
	return d + AttemptBudget
}

// maxJitter is the longest delay jitter makes of d.
func maxJitter(d time.Duration) time.Duration { return d + d/10 }

// steadyBackoff is the delay before retry n of a failing poll after the
// certificate was installed once: from 30 s, capped at the interval.
func steadyBackoff(n int, interval time.Duration) time.Duration {
	return capped(30*time.Second, n, interval)
}

// permanentBackoff is the delay after an error that only a configuration
// change can fix (401/403/404, bad content): such errors are not retried hot.
func permanentBackoff(n int, interval time.Duration) time.Duration {
	return capped(2*time.Minute, n, interval)
}

func capped(base time.Duration, n int, limit time.Duration) time.Duration {
	if n < 1 {
		n = 1
	}
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// jitter spreads d by ±10 % so a fleet started together does not poll together.
func jitter(d time.Duration, r *rand.Rand) time.Duration {
	if d <= 0 {
		return d
	}
	spread := int64(d) / 5
	if spread == 0 {
		return d
	}
	return d - time.Duration(spread/2) + time.Duration(r.Int64N(spread))
}

// jitterUp spreads d by 0 to +10 %: a delay the service asked for is never
// shortened.
func jitterUp(d time.Duration, r *rand.Rand) time.Duration {
	if d <= 0 || d/10 == 0 {
		return d
	}
	return d + time.Duration(r.Int64N(int64(d/10)))
}

// retryDelay is the wait before the next check after a failure: the
// jittered back-off (±10 %), or, when the service's Retry-After is
// longer, the Retry-After plus up to 10 %. A Retry-After is a floor that
// jitter only adds to, and retries after it are still spread.
func retryDelay(backoff, retryAfter time.Duration, r *rand.Rand) time.Duration {
	d := jitter(backoff, r)
	if retryAfter > 0 {
		d = max(d, jitterUp(retryAfter, r))
	}
	return d
}
