//go:build windows

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/windows"
)

// holdLock takes the lock akvvm takes on LOCATION\STORE, as docs/windows.md
// describes it (an exclusive LockFileEx on byte 1<<30 of
// %ProgramData%\akvvm\locks\<location>-<store>.lock, the holder's pid
// written at the start), prints "locked pid N" and holds it until the file
// release exists.
func holdLock(location, store, release string) error {
	base := os.Getenv("ProgramData")
	if strings.EqualFold(location, "CurrentUser") {
		base = os.Getenv("LOCALAPPDATA")
	}
	dir := filepath.Join(base, "akvvm", "locks")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(dir, strings.ToLower(location+"-"+store)+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	ol := windows.Overlapped{Offset: 1 << 30}
	if err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, &ol); err != nil {
		return fmt.Errorf("lock %s: %w", path, err)
	}
	if _, err := f.WriteAt([]byte(fmt.Sprintf("pid %d\n", os.Getpid())), 0); err != nil {
		return err
	}
	fmt.Printf("locked pid %d\n", os.Getpid())
	for {
		if _, err := os.Stat(release); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = f.Truncate(0)
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &ol)
}
