package agent

import (
	"context"
	"errors"
)

// ErrStopped is returned to a sync-now request when the agent stops first.
var ErrStopped = errors.New("the agent stopped before the pass ended")

// nowRequest is one pass asked for by SyncNow; every caller that joins it
// waits on done and then reads status and err.
type nowRequest struct {
	done   chan struct{}
	status Status
	err    error
}

// SyncNow asks the running agent to check every certificate at once and
// waits until that pass ends, returning the status then. A call while a
// requested pass is waiting or running joins it. It returns ctx's error
// when ctx ends first, and ErrStopped when Run returns first.
func (a *Agent) SyncNow(ctx context.Context) (Status, error) {
	r, err := a.queueNow()
	if err != nil {
		return Status{}, err
	}
	select {
	case <-r.done:
		return r.status, r.err
	case <-ctx.Done():
		return Status{}, ctx.Err()
	}
}

// RequestSync asks the running agent to check every certificate at once,
// as SyncNow does, without waiting for the pass.
func (a *Agent) RequestSync() error {
	_, err := a.queueNow()
	return err
}

// queueNow returns the requested pass to wait for, joining the one
// waiting or running, else asking Run for a new one.
func (a *Agent) queueNow() (*nowRequest, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.nowEnded {
		return nil, ErrStopped
	}
	r := a.nowPending
	if r == nil {
		r = a.nowRunning
	}
	if r == nil {
		r = &nowRequest{done: make(chan struct{})}
		a.nowPending = r
		select {
		case a.nowKick <- struct{}{}:
		default:
		}
	}
	return r, nil
}

// passNow runs the pass a SyncNow asked for, over every certificate, and
// answers everyone waiting for it.
func (a *Agent) passNow(ctx context.Context) {
	a.mu.Lock()
	r := a.nowPending
	a.nowPending, a.nowRunning = nil, r
	all := append([]CertSpec(nil), a.spec.Certificates...)
	a.mu.Unlock()
	if r == nil {
		return
	}
	a.log.Info("checking every certificate now, as asked", "certificates", len(all))
	a.getOnly.retryAll() // asked for now: try listing again
	a.pass(ctx, all)
	a.mu.Lock()
	a.nowRunning = nil
	a.mu.Unlock()
	if ctx.Err() != nil {
		r.err = ErrStopped
	} else {
		r.status = a.Status()
	}
	close(r.done)
}

// failNow answers a request still waiting when Run returns, and every
// later one.
func (a *Agent) failNow() {
	a.mu.Lock()
	r := a.nowPending
	a.nowPending, a.nowEnded = nil, true
	a.mu.Unlock()
	if r != nil {
		r.err = ErrStopped
		close(r.done)
	}
}
