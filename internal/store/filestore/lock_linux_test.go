package filestore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/store"
)

// A second holder (another process, or here another open file) waits for
// the lock and gives up when its context ends.
func TestLockDirExcludesSecondHolder(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockDir(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := lockDir(ctx, dir); !errors.Is(err, context.Canceled) {
		t.Fatalf("second lockDir while held = %v, want context.Canceled", err)
	}
	unlock()
	unlock2, err := lockDir(t.Context(), dir)
	if err != nil {
		t.Fatalf("lockDir after release: %v", err)
	}
	unlock2()
}

// Install does not touch the store while another holder has the lock, and
// proceeds once it is released.
func TestInstallWaitsForLock(t *testing.T) {
	s, dir, _ := newTestStore(t)
	target := store.Target{Location: dir}
	mustInstall(t, s, target, newCert(t, testRef, "v1", ecKey, 0))
	before := snapshot(t, dir)
	unlock, err := lockDir(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	v2 := newCert(t, testRef, "v2", ecKey, 0)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, err := s.Install(ctx, target, v2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Install while another holder has the lock = %v, want it to wait until its deadline", err)
	}
	assertSameSnapshot(t, before, snapshot(t, dir))
	unlock()
	mustInstall(t, s, target, v2)
}
