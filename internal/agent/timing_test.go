package agent

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/store"
)

// budgetClock is a fakeClock whose contexts end on its own time: a
// context from WithTimeout carries its deadline, and slowSource moves the
// clock to it.
type budgetClock struct{ *fakeClock }

type fakeDeadlineKey struct{}

func (c budgetClock) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithCancel(context.WithValue(ctx, fakeDeadlineKey{}, c.Now().Add(d)))
}

// slowSource fails every call after taking took of the fake clock; a call
// still running when its context's deadline passes ends at the deadline,
// as a vault that never answers does.
type slowSource struct {
	noVaultList
	clock *fakeClock
	took  time.Duration
	err   error
	calls int
}

func (s *slowSource) call(ctx context.Context) error {
	s.calls++
	deadline, _ := ctx.Value(fakeDeadlineKey{}).(time.Time)
	end := s.clock.Now().Add(s.took)
	if !deadline.IsZero() && end.After(deadline) {
		s.clock.Advance(deadline.Sub(s.clock.Now()))
		return fmt.Errorf("no answer: %w", context.DeadlineExceeded)
	}
	s.clock.Advance(s.took)
	return s.err
}

func (s *slowSource) Versions(ctx context.Context, _, _ string) ([]keyvault.Version, error) {
	return nil, s.call(ctx)
}

func (s *slowSource) Get(ctx context.Context, _, _, _ string) (*keyvault.Secret, error) {
	return nil, s.call(ctx)
}

func TestInitialSyncBoundIsWellInsideTheGuestAgentsWait(t *testing.T) {
	got := InitialSyncBound(25)
	if want := 74*time.Minute + 20*time.Second; got != want {
		t.Errorf("InitialSyncBound(25) = %s, want %s (docs/handler.md names it)", got, want)
	}
	if got > 80*time.Minute {
		t.Errorf("InitialSyncBound(25) = %s leaves less than 10 minutes of the guest agent's 90-minute wait", got)
	}
}

// TestInitialSyncEndsWithinTheBoundWhateverTheFailure runs 25 initial
// attempts on a fake clock against failures that take no time, part of
// the budget, all of it (a silent vault), and that ask for a long
// Retry-After, and checks when the error is reported.
func TestInitialSyncEndsWithinTheBoundWhateverTheFailure(t *testing.T) {
	throttled := kvError(429, "Throttled", "web")
	errAsResponse(t, throttled).Header.Set("Retry-After", "3600")
	for _, tc := range []struct {
		name string
		took time.Duration
		err  error
		// min is the least the 25 attempts must take: the back-off still
		// gives a late access grant time.
		min time.Duration
	}{
		{name: "403 at once", err: kvError(403, "Forbidden", "web"), min: 50 * time.Minute},
		{name: "identity retries for 53 s", took: 53 * time.Second, err: errors.New("identity: connection refused"), min: 50 * time.Minute},
		{name: "vault silent: every attempt uses its budget", took: time.Hour, min: 50 * time.Minute},
		{name: "429 with Retry-After of an hour", err: throttled, min: 50 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			clock := budgetClock{h.clock}
			src := &slowSource{clock: h.clock, took: tc.took, err: tc.err}
			a, err := New(h.spec, Deps{Source: src, Store: h.store, Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			start := h.clock.Now()
			var st CertStatus
			for i := 0; i < 200; i++ {
				a.pass(ctx, a.due())
				st = a.Status().Certificates[0]
				if st.Fatal {
					break
				}
				h.clock.Advance(a.untilNext())
			}
			if !st.Fatal || st.Attempts != 25 {
				t.Fatalf("after the loop: fatal %v after %d attempts, want the error after 25: %+v", st.Fatal, st.Attempts, st)
			}
			took := st.LastCheck.Sub(start)
			t.Logf("25 attempts ended %s after the first started", took)
			if took > InitialSyncBound(25) {
				t.Errorf("25 attempts ended %s after the first started, beyond InitialSyncBound %s", took, InitialSyncBound(25))
			}
			if took < tc.min {
				t.Errorf("25 attempts ended after %s, want at least %s of back-off", took, tc.min)
			}
		})
	}
}

func TestSilentVaultAttemptEndsAtItsBudget(t *testing.T) {
	h := newHarness(t)
	src := &slowSource{clock: h.clock, took: time.Hour}
	a, err := New(h.spec, Deps{Source: src, Store: h.store, Clock: budgetClock{h.clock}})
	if err != nil {
		t.Fatal(err)
	}
	start := h.clock.Now()
	s := a.SyncOnce(context.Background())
	if got := h.clock.Now().Sub(start); got != AttemptBudget {
		t.Errorf("the attempt took %s of the clock, want its budget %s", got, AttemptBudget)
	}
	c := s.Certificates[0]
	if c.Attempts != 1 || !strings.Contains(c.LastError, "deadline exceeded") {
		t.Errorf("status after a silent attempt: %+v", c)
	}
	if !c.CheckingSince.IsZero() || c.Attempt != 0 {
		t.Errorf("a finished attempt is still shown in flight: %+v", c)
	}
}

// TestStatusWritesPerPassDoNotGrowWithCertificates counts the status file
// writes of one pass (the agent counts them itself).
func TestStatusWritesPerPassDoNotGrowWithCertificates(t *testing.T) {
	writes := func(n int) int {
		h := newHarness(t)
		h.spec.Certificates = nil
		for i := range n {
			name := fmt.Sprintf("cert%03d", i)
			ref := store.Ref{Vault: "v", Name: name}
			h.spec.Certificates = append(h.spec.Certificates, CertSpec{Ref: ref, VaultURL: "https://v.vault.azure.net", URL: "https://v.vault.azure.net/secrets/" + name})
			h.src.add(name, "v1", h.pki.leafPEM(t, name+".example.com", false), h.clock.Now().Add(-time.Hour))
		}
		// StatusEvery longer than any pass here: the count is the pass's
		// own writes, not the throttled ones.
		a := h.agent(t, func(d *Deps) {
			d.StatusFile = filepath.Join(t.TempDir(), "status.json")
			d.StatusEvery = time.Hour
		})
		s := a.SyncOnce(context.Background())
		if s.Phase != Success {
			t.Fatalf("%d certificates: %s", n, s.Message)
		}
		return a.statusWrites
	}
	few, many := writes(3), writes(300)
	if few != 2 || many != 2 {
		t.Errorf("status file writes in one pass: %d for 3 certificates, %d for 300; want 2 each (start and end of the pass)", few, many)
	}
}

func TestStatusWritesDuringAPassAreThrottled(t *testing.T) {
	h := newHarness(t)
	h.spec.Certificates = nil
	for i := range 40 {
		name := fmt.Sprintf("cert%02d", i)
		h.spec.Certificates = append(h.spec.Certificates, CertSpec{Ref: store.Ref{Vault: "v", Name: name}, VaultURL: "https://v.vault.azure.net"})
	}
	h.src.setFail(kvError(503, "ServiceUnavailable", "x"))
	slow := &pausingSource{SecretSource: h.src, pause: 5 * time.Millisecond}
	a, err := New(h.spec, Deps{Source: slow, Store: h.store, Clock: h.clock, Concurrency: 1,
		StatusFile: filepath.Join(t.TempDir(), "status.json"), StatusEvery: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	a.SyncOnce(context.Background())
	took := time.Since(began)
	// 40 certificates complete; writes are the start, the end and at most
	// one per StatusEvery in between.
	limit := 2 + int(took/(50*time.Millisecond)) + 1
	if a.statusWrites > limit || a.statusWrites >= 40 {
		t.Errorf("%d status writes for a pass of 40 certificates over %s, want at most %d", a.statusWrites, took, limit)
	}
}

// pausingSource waits a little in real time before every call.
type pausingSource struct {
	SecretSource
	pause time.Duration
}

func (p *pausingSource) Versions(ctx context.Context, vault, name string) ([]keyvault.Version, error) {
	time.Sleep(p.pause)
	return p.SecretSource.Versions(ctx, vault, name)
}

func (p *pausingSource) Get(ctx context.Context, vault, name, version string) (*keyvault.Secret, error) {
	time.Sleep(p.pause)
	return p.SecretSource.Get(ctx, vault, name, version)
}

// blockingSource holds every call until release is closed.
type blockingSource struct {
	noVaultList
	started chan struct{}
	release chan struct{}
	err     error
}

func (b *blockingSource) wait(ctx context.Context) error {
	select {
	case b.started <- struct{}{}:
	default:
	}
	select {
	case <-b.release:
		return b.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *blockingSource) Versions(ctx context.Context, _, _ string) ([]keyvault.Version, error) {
	return nil, b.wait(ctx)
}

func (b *blockingSource) Get(ctx context.Context, _, _, _ string) (*keyvault.Secret, error) {
	return nil, b.wait(ctx)
}

func TestStatusFileShowsTheAttemptInFlightAndTheLastCause(t *testing.T) {
	h := newHarness(t)
	path := filepath.Join(t.TempDir(), "status.json")
	src := &blockingSource{started: make(chan struct{}, 1), release: make(chan struct{}), err: kvError(403, "Forbidden", "web")}
	close(src.release)
	a, err := New(h.spec, Deps{Source: src, Store: h.store, Clock: h.clock, StatusFile: path})
	if err != nil {
		t.Fatal(err)
	}
	a.SyncOnce(context.Background()) // attempt 1 fails with 403
	<-src.started

	src.release = make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); a.SyncOnce(context.Background()) }()
	<-src.started
	s, err := ReadStatusFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c := s.Certificates[0]
	if c.CheckingSince.IsZero() || c.Attempt != 2 || c.MaxAttempts != 25 || !strings.Contains(c.LastError, "HTTP 403") {
		t.Errorf("status file during attempt 2: %+v", c)
	}
	if !strings.Contains(s.Message, "checking since") || !strings.Contains(s.Message, "attempt 2 of 25") || !strings.Contains(s.Message, "403") {
		t.Errorf("status message during attempt 2: %s", s.Message)
	}
	close(src.release)
	<-done
	s, err = ReadStatusFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if c := s.Certificates[0]; !c.CheckingSince.IsZero() || c.Attempts != 2 {
		t.Errorf("status file after attempt 2: %+v", c)
	}
}

func TestStatusFileKeepsThePreviousRunAsLastKnownUntilChecked(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "v1", time.Hour)
	path := filepath.Join(t.TempDir(), "status.json")
	first := h.agent(t, func(d *Deps) { d.StatusFile = path })
	if s := first.SyncOnce(context.Background()); s.Phase != Success {
		t.Fatalf("first run: %s", s.Message)
	}
	before, err := ReadStatusFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// The next run finds the vault silent: until its check ends, the file
	// shows what the first run knew, marked as such, and the check in
	// flight.
	h.clock.Advance(time.Hour)
	src := &blockingSource{started: make(chan struct{}, 1), release: make(chan struct{}), err: kvError(503, "ServiceUnavailable", "web")}
	second, err := New(h.spec, Deps{Source: src, Store: newMemStore(), Clock: h.clock, StatusFile: path})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); second.SyncOnce(context.Background()) }()
	<-src.started
	s, err := ReadStatusFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c := s.Certificates[0]
	if !c.LastKnown || c.InstalledVersion != "v1" || c.CheckingSince.IsZero() || c.Attempt != 1 {
		t.Errorf("during the second run's first check: %+v", c)
	}
	if !s.LastKnownSince.Equal(before.Updated) || !s.Started.Equal(h.clock.Now()) {
		t.Errorf("lastKnownSince %s, started %s; want the first run's update %s and this run's start", s.LastKnownSince, s.Started, before.Updated)
	}
	if !strings.Contains(s.Message, "last known from the previous run") {
		t.Errorf("message does not say the state is last known: %s", s.Message)
	}
	close(src.release)
	<-done
	s, err = ReadStatusFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if c := s.Certificates[0]; c.LastKnown || !s.LastKnownSince.IsZero() {
		t.Errorf("after the second run checked: %+v (lastKnownSince %s)", c, s.LastKnownSince)
	}
}

// A retry of the initial sync may join a pass early, so it does not wait
// behind another certificate's slow attempt, but never before half its
// wait or a Retry-After; other retries keep their schedule.
func TestInitialRetryJoinsAPassEarlyWithinLimits(t *testing.T) {
	last := t0
	for _, tc := range []struct {
		name string
		st   CertStatus
		want time.Time
	}{
		{"3 min back-off: up to 2 min early, not before half", CertStatus{Attempts: 8, LastCheck: last, NextCheck: last.Add(3 * time.Minute)}, last.Add(90 * time.Second)},
		{"5 min wait: up to 2 min early", CertStatus{Attempts: 8, LastCheck: last, NextCheck: last.Add(5 * time.Minute)}, last.Add(3 * time.Minute)},
		{"Retry-After holds", CertStatus{Attempts: 8, LastCheck: last, NextCheck: last.Add(3 * time.Minute), retryNotBefore: last.Add(170 * time.Second)}, last.Add(170 * time.Second)},
		{"installed: exact", CertStatus{Attempts: 2, InstalledVersion: "v1", LastCheck: last, NextCheck: last.Add(time.Minute)}, last.Add(time.Minute)},
		{"gave up: exact", CertStatus{Attempts: 25, Fatal: true, LastCheck: last, NextCheck: last.Add(time.Hour)}, last.Add(time.Hour)},
	} {
		if got := dueAt(&tc.st); !got.Equal(tc.want) {
			t.Errorf("%s: dueAt = %s after the last check, want %s", tc.name, got.Sub(last), tc.want.Sub(last))
		}
	}
}
