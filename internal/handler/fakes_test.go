package handler

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/store"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// fakeService records the calls a handler makes.
type fakeService struct {
	calls []string
	fail  error
	// onRestart, when set, runs at each Restart, as the service's start.
	onRestart func()
}

func (f *fakeService) Install(_ context.Context, binary string) error {
	f.calls = append(f.calls, "install "+binary)
	return f.fail
}
func (f *fakeService) Restart(context.Context) error {
	f.calls = append(f.calls, "restart")
	if f.onRestart != nil {
		f.onRestart()
	}
	return f.fail
}
func (f *fakeService) Stop(context.Context) error { f.calls = append(f.calls, "stop"); return f.fail }
func (f *fakeService) Uninstall(context.Context) error {
	f.calls = append(f.calls, "uninstall")
	return f.fail
}

// failingSource fails every request (listing or get), counting the calls.
type failingSource struct {
	mu    sync.Mutex
	calls int
}

func (s *failingSource) Versions(context.Context, string, string) ([]keyvault.Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return nil, fmt.Errorf("dial tcp: connection refused")
}

func (s *failingSource) Get(context.Context, string, string, string) (*keyvault.Secret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return nil, fmt.Errorf("dial tcp: connection refused")
}

func (s *failingSource) ListSecrets(context.Context, string, int, func([]keyvault.SecretItem)) (keyvault.Listing, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return keyvault.Listing{}, fmt.Errorf("dial tcp: connection refused")
}

func (s *failingSource) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// emptyStore has nothing installed and installs nothing.
type emptyStore struct{}

func (emptyStore) Install(context.Context, store.Target, store.Certificate) (store.Installed, error) {
	return store.Installed{}, fmt.Errorf("unexpected Install")
}
func (emptyStore) List(context.Context, store.Target, store.Ref) ([]store.Installed, error) {
	return nil, nil
}
func (emptyStore) MakeCurrent(context.Context, store.Target, store.Ref, string) (store.Installed, error) {
	return store.Installed{}, fmt.Errorf("unexpected MakeCurrent")
}
func (emptyStore) Delete(context.Context, store.Target, store.Ref, []string) ([]store.Installed, error) {
	return nil, nil
}

// fastClock never sleeps: each wait moves time forward at once.
type fastClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fastClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fastClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}
