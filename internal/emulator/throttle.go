package emulator

import (
	"sync"
	"time"
)

// throttleWindow is Key Vault's throttling window.
const throttleWindow = 10 * time.Second

// throttler counts requests per vault in a fixed or sliding 10 s window.
// Rejected requests are not counted, as Key Vault does not count its 429s.
type throttler struct {
	mu      sync.Mutex
	limit   int // <0: disabled
	sliding bool
	vaults  map[string]*throttleBucket
}

type throttleBucket struct {
	start time.Time   // fixed window start
	n     int         // fixed window count
	times []time.Time // sliding window admissions, oldest first
}

func newThrottler(limit int, sliding bool) *throttler {
	return &throttler{limit: limit, sliding: sliding, vaults: map[string]*throttleBucket{}}
}

// set changes the limit and mode and forgets past requests.
func (t *throttler) set(limit int, sliding bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.limit, t.sliding, t.vaults = limit, sliding, map[string]*throttleBucket{}
}

func (t *throttler) currentLimit() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.limit
}

// allow admits one request to vault at now, or says how long to wait.
func (t *throttler) allow(vault string, now time.Time) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.limit < 0 {
		return true, 0
	}
	b := t.vaults[vault]
	if b == nil {
		b = &throttleBucket{}
		t.vaults[vault] = b
	}
	if t.sliding {
		cut := 0
		for cut < len(b.times) && !now.Before(b.times[cut].Add(throttleWindow)) {
			cut++
		}
		b.times = b.times[cut:]
		if len(b.times) >= t.limit {
			if len(b.times) == 0 {
				return false, throttleWindow
			}
			return false, b.times[0].Add(throttleWindow).Sub(now)
		}
		b.times = append(b.times, now)
		return true, 0
	}
	if start := now.Truncate(throttleWindow); !start.Equal(b.start) {
		b.start, b.n = start, 0
	}
	if b.n >= t.limit {
		return false, b.start.Add(throttleWindow).Sub(now)
	}
	b.n++
	return true, 0
}

// SetThrottle changes the per-vault limit per 10 s (negative disables it) and
// the window mode, and forgets past requests.
func (e *Emulator) SetThrottle(limit int, sliding bool) {
	e.throttle.set(limit, sliding)
	e.log.Info("emulator throttle set", "limit", limit, "sliding", sliding)
}
