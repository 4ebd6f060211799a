package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/akvvm/akvvm/internal/agent"
)

// Forced is the service's side of a re-enable with a new sequence number
// and the same settings: the agent reached through the control socket,
// which before a pass takes over the sequence number enable handed over.
type Forced struct {
	Agent    *agent.Agent
	Reporter *Reporter
	StateDir string
	// Settings are the settings the service runs with.
	Settings []byte
	Log      *slog.Logger
}

// SyncNow runs an immediate pass and returns the status at its end.
func (f *Forced) SyncNow(ctx context.Context) (agent.Status, error) {
	if err := f.adopt(); err != nil {
		return agent.Status{}, err
	}
	return f.Agent.SyncNow(ctx)
}

// RequestSync queues an immediate pass.
func (f *Forced) RequestSync() error {
	if err := f.adopt(); err != nil {
		return err
	}
	return f.Agent.RequestSync()
}

// adopt takes over the sequence number of state/service.json when its
// settings are the ones running; other settings need a restart.
func (f *Forced) adopt() error {
	cfg, err := ReadServiceConfig(f.StateDir)
	if err != nil {
		return fmt.Errorf("read the settings handed to the service: %w", err)
	}
	if cfg.Seq == f.Reporter.Seq() {
		return nil
	}
	if !SameSettings(cfg.Settings, f.Settings) {
		return errors.New("the settings handed to the service changed: it must restart to use them")
	}
	f.Log.Info("a re-enable with the same settings: reporting for the new sequence number", "from", f.Reporter.Seq(), "seq", cfg.Seq)
	f.Reporter.SetSeq(cfg.Seq)
	return nil
}
