package agent

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// A Retry-After longer than the back-off is a floor: jitter only adds to
// it. 20 failed checks of an installed certificate each wait at least the
// Retry-After, and the waits still differ.
func TestRetryAfterIsAFloorForAnInstalledCertificate(t *testing.T) {
	const retryAfter = 10 * time.Minute // beyond the 30 s to 1 h steady back-off's first steps
	h := newHarness(t)
	h.addVersion(t, "v1", time.Hour)
	a := h.agent(t, nil)
	if st := a.SyncOnce(context.Background()); st.Phase != Success {
		t.Fatalf("first sync: %+v", st)
	}
	throttled := kvError(429, "Throttled", "web")
	errAsResponse(t, throttled).Header.Set("Retry-After", strconv.Itoa(int(retryAfter/time.Second)))
	h.src.setFail(throttled)
	gaps := map[time.Duration]bool{}
	for i := range 20 {
		a.pass(context.Background(), nextDue(a, h.clock))
		st := a.Status().Certificates[0]
		if st.Attempts != i+1 {
			t.Fatalf("check %d: %d attempts", i+1, st.Attempts)
		}
		gap := st.NextCheck.Sub(st.LastCheck)
		gaps[gap] = true
		if gap < retryAfter {
			t.Errorf("check %d: next check after %s, before the Retry-After of %s", i+1, gap, retryAfter)
		}
		if limit := max(maxJitter(retryAfter), maxJitter(steadyBackoff(st.Attempts, h.spec.Interval))); gap > limit {
			t.Errorf("check %d: next check after %s, beyond %s", i+1, gap, limit)
		}
	}
	if len(gaps) < 10 {
		t.Errorf("%d different gaps in 20 checks: the jitter no longer spreads retries", len(gaps))
	}
}

// After the initial sync gave up, the next check still waits for the
// Retry-After when it is longer than the interval.
func TestRetryAfterIsAFloorAfterTheInitialSyncFailed(t *testing.T) {
	h := newHarness(t)
	h.spec.InitialSync.MaxAttempts = 1
	throttled := kvError(429, "Throttled", "web")
	errAsResponse(t, throttled).Header.Set("Retry-After", "7200") // two intervals
	h.src.setFail(throttled)
	for range 20 {
		a := h.agent(t, nil)
		a.pass(context.Background(), a.due())
		st := a.Status().Certificates[0]
		if !st.Fatal {
			t.Fatalf("not fatal after one attempt: %+v", st)
		}
		if gap := st.NextCheck.Sub(st.LastCheck); gap < 2*time.Hour {
			t.Errorf("next check after %s, before the Retry-After of 2h", gap)
		}
	}
}

func TestRetryDelay(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		if d := retryDelay(time.Minute, 0, r); d < 54*time.Second || d > 66*time.Second {
			t.Fatalf("retryDelay(1m, 0) = %s, want within ±10 %%", d)
		}
		if d := retryDelay(time.Minute, 2*time.Minute, r); d < 2*time.Minute || d > maxJitter(2*time.Minute) {
			t.Fatalf("retryDelay(1m, 2m) = %s, want 2m to 2m12s", d)
		}
		if d := retryDelay(time.Minute, 50*time.Second, r); d < 54*time.Second || d > 66*time.Second {
			t.Fatalf("retryDelay(1m, 50s) = %s, want the jittered back-off", d)
		}
	}
}

// nextDue advances the clock to the next due certificates and returns them.
func nextDue(a *Agent, clock *fakeClock) []CertSpec {
	for range 100 {
		if due := a.due(); len(due) > 0 {
			return due
		}
		clock.Advance(max(a.untilNext(), time.Second))
	}
	return nil
}
