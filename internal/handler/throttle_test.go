package handler

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/agent"
)

// idleAgent runs until stopped and reports a fixed status.
type idleAgent struct{ st agent.Status }

func (a idleAgent) Run(ctx context.Context) error { <-ctx.Done(); return nil }
func (a idleAgent) Status() agent.Status          { return a.st }

// A pass of many certificates asks for a write after each one; the
// reporter writes a bounded number of times, not one per certificate,
// and always at the end of the pass.
func TestReporterWritesABoundedNumberOfTimesPerPass(t *testing.T) {
	h, _, _ := newTestHandler(t, "3.0.1")
	rep := NewReporter(h.Env, 0, discard())
	rep.MinGap = time.Hour // nothing but the start, the end and one held write
	var mu sync.Mutex
	writes := 0
	rep.Written = func(StatusItem) { mu.Lock(); writes++; mu.Unlock() }
	count := func() int { mu.Lock(); defer mu.Unlock(); return writes }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rep.Run(ctx, idleAgent{st: agent.Status{Phase: agent.Transitioning, Updated: now}}) }()
	for count() == 0 {
		time.Sleep(time.Millisecond)
	}
	const certs = 1000
	rep.Progress(0, certs)
	for i := 1; i < certs; i++ {
		rep.Progress(i, certs)
	}
	time.Sleep(20 * time.Millisecond) // let Run see the kicks
	if got := count(); got > 2 {
		t.Errorf("%d writes for a pass of %d certificates before it ended, want at most 2", got, certs)
	}
	before := count()
	rep.Progress(certs, certs)
	if got := count(); got != before+1 {
		t.Errorf("the end of the pass wrote %d times, want once", got-before)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestScaledClockDeadlines(t *testing.T) {
	c := ScaledClock{Start: time.Now(), Scale: 500}
	ctx, cancel := c.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dl, _ := ctx.Deadline()
	if got := time.Until(dl); got > 240*time.Millisecond || got < 200*time.Millisecond {
		t.Errorf("2 min at scale 500 ends in %s of real time, want 240 ms", got)
	}
	fast := ScaledClock{Start: time.Now(), Scale: 100000}
	ctx2, cancel2 := fast.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel2()
	dl, _ = ctx2.Deadline()
	if got := time.Until(dl); got < MinScaledTimeout-10*time.Millisecond {
		t.Errorf("2 min at scale 100000 ends in %s, want at least %s", got, MinScaledTimeout)
	}
}

func TestSubstatusShowsTheCheckInFlight(t *testing.T) {
	since := now.Add(-30 * time.Second)
	sub := certSubStatus(agent.CertStatus{Key: "v/web", URL: "https://v.vault.azure.net/secrets/web", Attempts: 2,
		LastError: "key vault: HTTP 503", CheckingSince: since, Attempt: 3, MaxAttempts: 25})
	msg := sub.FormattedMessage.Message
	if sub.Status != StatusTransitioning || !strings.Contains(msg, "attempt 2 failed: key vault: HTTP 503") ||
		!strings.Contains(msg, "checking since "+since.UTC().Format(time.RFC3339)+", attempt 3 of 25") {
		t.Errorf("substatus = %+v", sub)
	}
	sub = certSubStatus(agent.CertStatus{Key: "v/web", CheckingSince: since, Attempt: 1, MaxAttempts: 25})
	if msg := sub.FormattedMessage.Message; strings.Contains(msg, "not checked yet") || !strings.Contains(msg, "attempt 1 of 25") {
		t.Errorf("first check in flight: %+v", sub)
	}
}
