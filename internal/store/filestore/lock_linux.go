package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockPoll is how often a busy lock is retried; store operations take
// milliseconds, so waiting 50 ms between tries costs little.
const lockPoll = 50 * time.Millisecond

// lockDir takes an exclusive flock on dir's lock file so that two akvvm
// processes never interleave in one store directory. It waits until the
// lock is free or ctx ends. Remove deletes the lock file while holding it;
// a waiter that then gets the lock of the deleted file opens the lock file
// anew, so two holders never coexist.
func lockDir(ctx context.Context, dir string) (unlock func(), err error) {
	path := filepath.Join(dir, lockFileName)
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("opening lock file %s: %w", path, err)
		}
		unlock, err := flockWait(ctx, f, path)
		if err != nil {
			_ = f.Close()
			return nil, err
		}
		held, err := f.Stat()
		if err == nil {
			var now os.FileInfo
			now, err = os.Stat(path)
			if err == nil && os.SameFile(held, now) {
				return unlock, nil
			}
		}
		unlock()
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("checking lock file %s: %w", path, err)
		}
		// The lock file was removed or replaced meanwhile: take the new one.
	}
}

// flockWait locks f, retrying every lockPoll until ctx ends. The returned
// function unlocks and closes f.
func flockWait(ctx context.Context, f *os.File, path string) (func(), error) {
	fd := int(f.Fd())
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(fd, syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for another akvvm process to release %s: %w", path, ctx.Err())
		case <-time.After(lockPoll):
		}
	}
}
