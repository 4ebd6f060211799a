package agent

import (
	"math/rand/v2"
	"time"
)

// initialBackoff is the delay before retry n (1-based) of a failed first
// download. It doubles from 5 s and is capped at 4 min, so 25 attempts end
// after about 77 min: time for an access grant made later in the same
// deployment to take effect, yet before the guest agent's 90 min wait for
// dependent extensions runs out, so the real error is reported.
func initialBackoff(n int) time.Duration {
	return capped(5*time.Second, n, 4*time.Minute)
}

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
