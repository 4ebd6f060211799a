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

	"github.com/akvvm/akvvm/internal/fsutil"
)

// lockPoll is how often a busy lock is retried; store operations take
// milliseconds, so waiting 50 ms between tries costs little.
const lockPoll = 50 * time.Millisecond

// lockDir takes an exclusive flock on dir's lock file, for work on the
// whole directory (migration, Recover, Remove). It waits until the lock is
// free or ctx ends.
func lockDir(ctx context.Context, dir string) (unlock func(), err error) {
	return lockPath(ctx, filepath.Join(dir, lockFileName), syscall.LOCK_EX)
}

// lockDirShared takes a shared flock on dir's lock file, held by work on
// one certificate together with that certificate's own lock.
func lockDirShared(ctx context.Context, dir string) (unlock func(), err error) {
	return lockPath(ctx, filepath.Join(dir, lockFileName), syscall.LOCK_SH)
}

// lockCert takes an exclusive flock on the lock file of one certificate
// in the records directory recDir; the caller holds the shared directory
// lock.
func lockCert(ctx context.Context, recDir, name string) (unlock func(), err error) {
	return lockPath(ctx, filepath.Join(recDir, name), syscall.LOCK_EX)
}

// lockPath flocks path (created with mode 0600 if missing) in mode how.
// Remove deletes lock files while holding the exclusive directory lock; a
// waiter that then gets the lock of the deleted file opens the lock file
// anew, so two holders never coexist.
func lockPath(ctx context.Context, path string, how int) (unlock func(), err error) {
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
		if err != nil {
			if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
				return nil, fmt.Errorf("opening a lock file: %w", fsutil.LinkError(path))
			}
			return nil, fmt.Errorf("opening lock file %s: %w", path, err)
		}
		unlock, err := flockWait(ctx, f, path, how)
		if err != nil {
			_ = f.Close()
			return nil, err
		}
		held, err := f.Stat()
		if err == nil {
			var now os.FileInfo
			now, err = os.Lstat(path)
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

// flockWait locks f in mode how, retrying every lockPoll until ctx ends.
// The returned function unlocks and closes f.
func flockWait(ctx context.Context, f *os.File, path string, how int) (func(), error) {
	fd := int(f.Fd())
	for {
		err := syscall.Flock(fd, how|syscall.LOCK_NB)
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
