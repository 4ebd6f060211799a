package agent

import (
	"context"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/store"
)

// racedStore is a memStore where another akvvm process installs each
// version between the agent's List and its Install: the store finds the
// version there and reports it Unchanged, as winstore does under its lock.
type racedStore struct{ *memStore }

func (r racedStore) Install(ctx context.Context, t store.Target, c store.Certificate) (store.Installed, error) {
	rec, err := r.memStore.Install(ctx, t, c)
	rec.Unchanged, rec.Current = true, true
	return rec, err
}

// A version another process installed meanwhile is current in the status
// but raises no event and runs no hook: the other process did both.
func TestVersionInstalledByAnotherProcessRaisesNoEvent(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "v1", time.Hour)
	var events []Event
	a := h.agent(t, func(d *Deps) {
		d.Store = racedStore{h.store}
		d.Notifiers = []Notifier{notifierFunc(func(e Event) { events = append(events, e) })}
	})
	s := a.SyncOnce(context.Background())
	if s.Phase != Success || s.Certificates[0].InstalledVersion != "v1" {
		t.Fatalf("status = %+v, want v1 current", s)
	}
	if len(events) != 0 {
		t.Errorf("events = %+v, want none for a version another process installed", events)
	}
}
