package filestore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
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

// openCount counts this process's open files that are path.
func openCount(t *testing.T, path string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot list open files: %v", err)
	}
	n := 0
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && target == path {
			n++
		}
	}
	return n
}

// Remove deletes the lock file while holding it. A waiter that opened the
// old file must not end up "holding" a lock nobody else can see: it takes
// the lock of the file now in the directory.
func TestLockDirWaiterFollowsARemovedLockFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, lockFileName)
	unlockA, err := lockDir(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		unlock func()
		err    error
	}
	done := make(chan result, 1)
	go func() {
		u, err := lockDir(t.Context(), dir)
		done <- result{u, err}
	}()
	for openCount(t, path) < 2 { // wait until the waiter has opened the old file
		runtime.Gosched()
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	unlockA()
	b := <-done
	if b.err != nil {
		t.Fatal(b.err)
	}
	defer b.unlock()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if u, err := lockDir(ctx, dir); !errors.Is(err, context.Canceled) {
		if u != nil {
			u()
		}
		t.Fatalf("lockDir while the waiter holds the lock = %v, want context.Canceled", err)
	}
}
