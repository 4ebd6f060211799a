package fsutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// ChmodDir sets the mode of the directory at path without following a
// symbolic link there: the directory is opened with O_DIRECTORY and
// O_NOFOLLOW and changed through that descriptor, so a link swapped in
// after a Mkdir is refused instead of changing what it points at.
func ChmodDir(path string, mode fs.FileMode) error {
	var fd int
	for {
		var err error
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
		if err == nil {
			break
		}
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if fi, lerr := os.Lstat(path); lerr == nil && (errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.ENOTDIR)) {
			return notDir(path, fi.Mode())
		}
		return fmt.Errorf("setting mode %04o on %s: %w", mode.Perm(), path, &fs.PathError{Op: "open", Path: path, Err: err})
	}
	defer syscall.Close(fd)
	if err := syscall.Fchmod(fd, uint32(mode.Perm())); err != nil {
		return fmt.Errorf("setting mode %04o on %s: %w", mode.Perm(), path, err)
	}
	return nil
}
