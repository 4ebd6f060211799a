package identity

import (
	"testing"
	"time"
)

func TestBackoffSchedule(t *testing.T) {
	s := time.Second
	tests := []struct {
		retry  int
		jitter float64
		want   time.Duration
	}{
		// Nominal (jitter 0.5): the IMDS guidance's 0, 2, 6, 14, 30 s with a 1 s floor.
		{1, 0.5, 1 * s},
		{2, 0.5, 2 * s},
		{3, 0.5, 6 * s},
		{4, 0.5, 14 * s},
		{5, 0.5, 30 * s},
		{6, 0.5, 60 * s}, // 62 s capped
		{40, 0.5, 60 * s},
		// Jitter spreads ±20 %, within the floor and the cap.
		{3, 0, 4800 * time.Millisecond},
		{3, 0.75, 6600 * time.Millisecond},
		{5, 0, 24 * s},
		{5, 0.999999, 36 * s},
		{6, 0, 49600 * time.Millisecond}, // 62 s nominal, jittered before the cap
		{1, 0, 1 * s},
		{2, 0, 1600 * time.Millisecond},
		// Out-of-range inputs are made safe.
		{0, 0.5, 1 * s},
		{-3, 0.5, 1 * s},
		{3, 7, 6 * s},
	}
	for _, tt := range tests {
		got := backoff(tt.retry, tt.jitter).Round(time.Millisecond)
		if got != tt.want {
			t.Errorf("backoff(%d, %v) = %v, want %v", tt.retry, tt.jitter, got, tt.want)
		}
	}
}

func TestBackoffBounds(t *testing.T) {
	for retry := -1; retry < 70; retry++ {
		for _, j := range []float64{0, 0.1, 0.5, 0.9, 0.9999} {
			if d := backoff(retry, j); d < minDelay || d > maxDelay {
				t.Errorf("backoff(%d, %v) = %v, outside [%v, %v]", retry, j, d, minDelay, maxDelay)
			}
		}
	}
}

func TestRetryable(t *testing.T) {
	for status := 100; status < 600; status++ {
		want := status == 404 || status == 410 || status == 429 || status >= 500
		if got := retryable(status); got != want {
			t.Errorf("retryable(%d) = %v, want %v", status, got, want)
		}
	}
}
