package handler

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/akvvm/akvvm/internal/agent"
)

// Agent is the part of agent.Agent the service drives.
type Agent interface {
	Run(ctx context.Context) error
	Status() agent.Status
}

// Reporter runs the agent as the extension's service and keeps the
// <seq>.status and heartbeat files current: at the end of every pass of
// the agent (before it goes on), at most every MinGap while a pass runs
// (its start, certificates completing), and every HeartbeatInterval. Once
// disable left the stopped marker it writes nothing, and it stops the
// agent at the next HeartbeatInterval (where no service manager stopped it).
type Reporter struct {
	env      *Environment
	seq      int
	log      *slog.Logger
	kick     chan struct{}
	interval time.Duration
	// MinGap is the shortest time between two writes asked for during a
	// pass; default 2 s. Set it before Run.
	MinGap time.Duration

	mu    sync.Mutex // serialises writes so an older snapshot never wins
	agent Agent
	last  time.Time // of the latest write
	// Written, when set, is called after each status write (tests).
	Written func(StatusItem)
	// stopped reports whether disable left the stopped marker.
	stopped func() bool
	// quiet is set once the skipped writes were logged.
	quiet bool
}

// NewReporter returns a reporter writing the status of seq.
func NewReporter(env *Environment, seq int, log *slog.Logger) *Reporter {
	return &Reporter{env: env, seq: seq, log: log, kick: make(chan struct{}, 1), interval: HeartbeatInterval, MinGap: 2 * time.Second,
		stopped: func() bool { return isStopped(env.StateDir()) }}
}

// Progress writes the status at the end of a pass and asks for a write
// at its start and after every other certificate, which Run throttles to
// one per MinGap; pass it as agent.Deps.Progress.
func (r *Reporter) Progress(done, total int) {
	if done == total {
		r.report()
		return
	}
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run runs a until ctx is cancelled or the extension is disabled,
// reporting as it goes.
func (r *Reporter) Run(ctx context.Context, a Agent) error {
	r.mu.Lock()
	r.agent = a
	r.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	r.report()
	tick := time.NewTicker(r.interval)
	defer tick.Stop()
	var held <-chan time.Time // a write asked for within MinGap of the last
	for {
		select {
		case err := <-done:
			r.report() // the last word: what the agent knew when it stopped
			return err
		case <-r.kick:
			if held != nil {
				continue
			}
			if wait := r.MinGap - time.Since(r.lastWrite()); wait > 0 {
				held = time.After(wait)
				continue
			}
			r.report()
		case <-held:
			held = nil
			r.report()
		case <-tick.C:
			if r.stopped() {
				r.log.Info("the extension was disabled (state/stopped is present): stopping the agent; the next enable starts the service again")
				cancel()
				<-done
				return nil
			}
			r.report()
		}
	}
}

// Seq returns the sequence number the status is written for.
func (r *Reporter) Seq() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seq
}

// SetSeq writes the status for seq from now on: a re-enable with a new
// sequence number and the same settings (Azure's forceUpdateTag).
func (r *Reporter) SetSeq(seq int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq = seq
}

func (r *Reporter) lastWrite() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// report writes the status and the heartbeat.
func (r *Reporter) report() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.agent == nil {
		return
	}
	if r.stopped() {
		// Disable wrote the status and heartbeat; they stay.
		if !r.quiet {
			r.quiet = true
			r.log.Info("the extension is disabled (state/stopped is present): the status and heartbeat files stay as disable wrote them")
		}
		return
	}
	st := r.agent.Status()
	item := FromAgent(r.env.Name, st)
	if err := WriteStatus(r.env.StatusFolder, r.seq, item); err != nil {
		r.log.Error("could not write the status file", "seq", r.seq, "error", err)
	}
	if err := WriteHeartbeat(r.env.HeartbeatFile, string(st.Phase)+": "+st.Message); err != nil {
		r.log.Error("could not write the heartbeat file", "error", err)
	}
	r.last = time.Now()
	if r.Written != nil {
		r.Written(item)
	}
}
