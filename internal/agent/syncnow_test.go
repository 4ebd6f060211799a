package agent

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/keyvault"
)

// stillClock never lets a wait end: only SyncNow starts a pass after the
// first.
type stillClock struct{ now time.Time }

func (c stillClock) Now() time.Time                       { return c.now }
func (c stillClock) After(time.Duration) <-chan time.Time { return nil }

// gatedSource holds each listing until the test releases it.
type gatedSource struct {
	*fakeSource
	mu      sync.Mutex
	gate    chan struct{}
	entered chan struct{}
}

func (s *gatedSource) hold() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate, s.entered = make(chan struct{}), make(chan struct{}, 8)
}

func (s *gatedSource) Versions(ctx context.Context, vault, name string) ([]keyvault.Version, error) {
	s.mu.Lock()
	gate, entered := s.gate, s.entered
	s.mu.Unlock()
	if gate != nil {
		entered <- struct{}{}
		<-gate
	}
	return s.fakeSource.Versions(ctx, vault, name)
}

func TestSyncNowChecksAtOnceAndJoinsThePassInFlight(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "v1", time.Hour)
	src := &gatedSource{fakeSource: h.src}
	deps := Deps{Source: src, Store: h.store, Clock: stillClock{now: t0}, Identity: "system-assigned identity"}
	a, err := New(h.spec, deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for a.Status().Certificates[0].InstalledVersion != "v1" {
		if time.Now().After(deadline) {
			t.Fatalf("the initial pass did not install v1: %+v", a.Status())
		}
		time.Sleep(5 * time.Millisecond)
	}

	h.addVersion(t, "v2", 0)
	src.hold()
	lists, _ := h.src.counts()
	type answer struct {
		st  Status
		err error
	}
	answers := make(chan answer, 2)
	ask := func() {
		st, err := a.SyncNow(context.Background())
		answers <- answer{st, err}
	}
	go ask()
	select {
	case <-src.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("SyncNow started no pass within 10 s although the interval is an hour")
	}
	go ask() // while the first one's pass is listing
	time.Sleep(50 * time.Millisecond)
	close(src.gate)
	for range 2 {
		select {
		case r := <-answers:
			if r.err != nil || r.st.Certificates[0].InstalledVersion != "v2" {
				t.Fatalf("SyncNow = %v, %+v; want v2 installed", r.err, r.st.Certificates)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("SyncNow did not return")
		}
	}
	if got, _ := h.src.counts(); got != lists+1 {
		t.Errorf("two SyncNow calls listed %d times, want once: the second joins the pass in flight", got-lists)
	}

	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	if _, err := a.SyncNow(context.Background()); !errors.Is(err, ErrStopped) {
		t.Errorf("SyncNow after Run returned = %v, want ErrStopped", err)
	}
}
