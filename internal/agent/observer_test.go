package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// recorder is an Observer that keeps what it was told.
type recorder struct {
	mu     sync.Mutex
	keys   []string
	checks []Check
	passes int
}

func (r *recorder) Certificates(keys []string) { r.mu.Lock(); r.keys = keys; r.mu.Unlock() }
func (r *recorder) Checked(c Check)            { r.mu.Lock(); r.checks = append(r.checks, c); r.mu.Unlock() }
func (r *recorder) Secrets([]string)           {}
func (r *recorder) PassDone(time.Duration)     { r.mu.Lock(); r.passes++; r.mu.Unlock() }

func (r *recorder) last(t *testing.T) Check {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.checks) == 0 {
		t.Fatal("no check observed")
	}
	return r.checks[len(r.checks)-1]
}

// The observer sees every check: the install, the installed version's
// dates, consecutive failures with their cause, and the success after.
func TestObserverSeesChecksAndCauses(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "v1", time.Hour)
	rec := &recorder{}
	a := h.agent(t, func(d *Deps) { d.Observer = rec })
	if len(rec.keys) != 1 || rec.keys[0] != "v/web" {
		t.Fatalf("certificates = %v, want [v/web]", rec.keys)
	}
	a.SyncOnce(context.Background())
	c := rec.last(t)
	if c.Key != "v/web" || c.Installs != 1 || c.Failures != 0 || c.Cause != "" || c.NotAfter.IsZero() || c.LastSuccess.IsZero() {
		t.Errorf("first check = %+v, want one install with its dates and no failure", c)
	}
	h.src.setFail(kvError(http.StatusServiceUnavailable, "", "web"))
	a.SyncOnce(context.Background())
	a.SyncOnce(context.Background())
	c = rec.last(t)
	if c.Failures != 2 || c.Cause != CauseHTTP5xx || c.Installs != 0 || c.NotAfter.IsZero() {
		t.Errorf("after two 503s = %+v, want 2 failures of http_5xx, the installed version still known", c)
	}
	h.src.setFail(nil)
	a.SyncOnce(context.Background())
	if c = rec.last(t); c.Failures != 0 || c.Cause != "" || c.Installs != 0 {
		t.Errorf("after recovery = %+v, want no failure and no install", c)
	}
	if rec.passes != 4 {
		t.Errorf("passes = %d, want 4", rec.passes)
	}
}

// Causes fall into a small fixed set.
func TestCauseOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{kvError(http.StatusForbidden, "ForbiddenByPolicy", "web"), "ForbiddenByPolicy"},
		{kvError(http.StatusForbidden, "SomethingNew", "web"), CauseHTTP4xx},
		{kvError(http.StatusTooManyRequests, "", "web"), CauseHTTP429},
		{kvError(http.StatusBadGateway, "", "web"), CauseHTTP5xx},
		{&syncError{kind: kindDecode, err: errors.New("bad")}, CauseDecode},
		{keptError(&syncError{kind: kindNoUsable, err: errors.New("none")}, nil, "why"), CauseNoUsable},
		{fmt.Errorf("key vault: %w", errors.New("identity: system-assigned: HTTP 400")), CauseIdentity},
		{errors.Join(errors.New("x"), errors.New("identity: gone")), CauseIdentity},
		{&syncError{err: fmt.Errorf("wrapped: %w", &syncError{kind: kindInstall, err: errors.New("disk full")})}, CauseInstall},
		{errors.New("boom"), CauseOther},
		{nil, ""},
	} {
		if got := CauseOf(tc.err); got != tc.want {
			t.Errorf("CauseOf(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// Ready says why not until every certificate is checked and none fails.
func TestReady(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "v1", time.Hour)
	a := h.agent(t, nil)
	if ok, why := a.Ready(); ok || why != "initial sync not done: v/web not checked yet" {
		t.Errorf("before the first check: %v %q", ok, why)
	}
	a.SyncOnce(context.Background())
	if ok, why := a.Ready(); !ok {
		t.Errorf("after the install: not ready: %q", why)
	}
	h.src.setFail(kvError(http.StatusServiceUnavailable, "", "web"))
	a.SyncOnce(context.Background())
	if ok, why := a.Ready(); ok || why == "" {
		t.Errorf("after a 503: %v %q, want not ready with the cause", ok, why)
	}
}
