package winstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/akvvm/akvvm/internal/store"
	"golang.org/x/sys/windows"
)

// lockPoll is how often a busy lock is tried again; changes to a store take
// milliseconds, so 50 ms between tries costs little.
const lockPoll = 50 * time.Millisecond

// lockOffset is the byte the lock covers, far beyond the pid written at the
// start of the file: Windows locks are mandatory, so a waiter can still
// read the pid of the holder.
const lockOffset = 1 << 30

// lockStore takes the cross-process lock of t's store: an exclusive
// LockFileEx on the store's lock file, with this process's pid written into
// the file for whoever waits. It waits up to s.lockWait (or until ctx
// ends) while another process holds it, logging once who that is. The
// returned function releases the lock.
func (s *Store) lockStore(ctx context.Context, t store.Target) (unlock func(), err error) {
	dir := s.lockDir
	if dir == "" {
		if dir, err = lockDirFor(t.Location, getenv); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create the lock directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, lockFileName(t.Location, t.StoreName))
	f, err := openLockFile(path)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.lockWait)
	defer cancel()
	start := time.Now()
	logged := false
	for {
		ol := windows.Overlapped{Offset: lockOffset}
		err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
		if err == nil {
			break
		}
		if !errors.Is(err, windows.ERROR_LOCK_VIOLATION) && !errors.Is(err, windows.ERROR_IO_PENDING) {
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		holder := readHolder(f)
		if !logged {
			s.log.Info("waiting for another akvvm process to finish with the certificate store", "store", t.Location+`\`+t.StoreName,
				"holder", holder, "lockFile", path, "maxWait", s.lockWait)
			logged = true
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("the certificate store %s\\%s is locked by another akvvm process (%s) and was not released within %v (lock file %s): let that process finish, or end it if it hangs, and run again: %w",
				t.Location, t.StoreName, holder, time.Since(start).Round(time.Second), path, ctx.Err())
		case <-time.After(lockPoll):
		}
	}
	if logged {
		s.log.Info("the other akvvm process released the certificate store", "store", t.Location+`\`+t.StoreName, "waited", time.Since(start).Round(time.Millisecond))
	}
	// Best effort: the pid only helps a waiter name the holder.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(fmt.Sprintf("pid %d\n", os.Getpid())), 0)
	}
	return func() {
		_ = f.Truncate(0)
		ol := windows.Overlapped{Offset: lockOffset}
		_ = windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &ol)
		_ = f.Close()
	}, nil
}

// getenv is os.Getenv, except that an unset LOCALAPPDATA (as in some
// service environments) is asked of the shell's known folders.
func getenv(name string) string {
	v := os.Getenv(name)
	if v == "" && name == "LOCALAPPDATA" {
		v, _ = windows.KnownFolderPath(windows.FOLDERID_LocalAppData, 0)
	}
	return v
}

// openLockFile opens (creating) the lock file for reading and writing,
// shared with other processes. A symbolic link or junction there is opened
// as itself and refused, so the lock never creates a file elsewhere.
func openLockFile(path string) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, fmt.Errorf("lock file %s: %w", path, err)
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ|windows.GENERIC_WRITE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil,
		windows.OPEN_ALWAYS, windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		return nil, fmt.Errorf("open the lock file %s: %w", path, err)
	}
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		_ = windows.CloseHandle(h)
		return nil, fmt.Errorf("read the lock file %s: %w", path, err)
	}
	if info.FileAttributes&(windows.FILE_ATTRIBUTE_REPARSE_POINT|windows.FILE_ATTRIBUTE_DIRECTORY) != 0 {
		_ = windows.CloseHandle(h)
		return nil, fmt.Errorf("the lock file %s is a link, junction or directory, not a file: remove it (akvvm creates it again)", path)
	}
	return os.NewFile(uintptr(h), path), nil
}

// readHolder names the process that holds the lock from the pid it wrote,
// such as "pid 1234", or says that it is unknown.
func readHolder(f *os.File) string {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	line, _, _ := strings.Cut(string(b[:n]), "\n")
	if pid, ok := strings.CutPrefix(line, "pid "); ok {
		if _, err := strconv.Atoi(pid); err == nil {
			return line
		}
	}
	return "pid unknown"
}
