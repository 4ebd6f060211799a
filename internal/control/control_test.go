package control

import (
	"context"
	"sync/atomic"

	"github.com/akvvm/akvvm/internal/agent"
)

// fakeService counts the passes asked of it.
type fakeService struct{ calls, queued atomic.Int32 }

func (f *fakeService) SyncNow(context.Context) (agent.Status, error) {
	f.calls.Add(1)
	return agent.Status{Phase: agent.Success, Message: "checked"}, nil
}

func (f *fakeService) RequestSync() error {
	f.queued.Add(1)
	return nil
}
