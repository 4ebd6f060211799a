package emulator

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestThrottlerWindows(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type step struct {
		at   time.Duration
		want bool
	}
	tests := []struct {
		name    string
		sliding bool
		steps   []step
	}{
		{"fixed window resets at the boundary", false, []step{{0, true}, {1 * time.Second, true}, {2 * time.Second, false}, {9 * time.Second, false}, {10 * time.Second, true}, {11 * time.Second, true}, {12 * time.Second, false}}},
		{"sliding window frees the oldest slot", true, []step{{0, true}, {5 * time.Second, true}, {6 * time.Second, false}, {10 * time.Second, true}, {11 * time.Second, false}, {15 * time.Second, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := newThrottler(2, tt.sliding)
			for _, s := range tt.steps {
				ok, wait := th.allow("v", t0.Add(s.at))
				if ok != s.want {
					t.Fatalf("at %v: allowed = %v, want %v", s.at, ok, s.want)
				}
				if !ok && (wait <= 0 || wait > throttleWindow) {
					t.Errorf("at %v: retry after %v, want within (0, 10s]", s.at, wait)
				}
			}
		})
	}
}

func TestThrottleLimitOverHTTP(t *testing.T) {
	clock := newFakeClock()
	e := startEmulator(t, Config{ThrottleLimit: 3, Now: clock.Now})
	mustVault(t, e, VaultSpec{Name: "busy"})
	mustVault(t, e, VaultSpec{Name: "calm"})
	c := httpClient(t, e)
	tok := mustToken(t, e, "https://vault.azure.net", "")
	get := func(vault string) rawResponse {
		return rawRequest(t, c, http.MethodGet, "https://"+vault+".vault.azure.net/secrets?api-version=7.5", tok, "")
	}
	for i := range 3 {
		if r := get("busy"); r.status != 200 {
			t.Fatalf("request %d = %d, want 200", i, r.status)
		}
	}
	for range 5 { // 429s do not count toward the limit
		r := get("busy")
		secs, err := strconv.Atoi(r.header.Get("Retry-After"))
		if r.status != 429 || r.errorCode() != "Throttled" || err != nil || secs < 1 || secs > 10 {
			t.Fatalf("over the limit = %d %q Retry-After %q", r.status, r.errorCode(), r.header.Get("Retry-After"))
		}
	}
	if r := get("calm"); r.status != 200 {
		t.Errorf("another vault = %d, want 200 (limits are per vault)", r.status)
	}
	clock.Advance(throttleWindow)
	for i := range 3 {
		if r := get("busy"); r.status != 200 {
			t.Fatalf("next window request %d = %d, want 200", i, r.status)
		}
	}
	e.SetThrottle(-1, false)
	for range 10 {
		if r := get("busy"); r.status != 200 {
			t.Fatalf("throttling disabled: %d", r.status)
		}
	}
}
