// Package fsutil holds the file-system helpers several packages share.
package fsutil

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// WriteFileAtomic writes data to path with mode: a temporary file in the
// same directory, fsync, rename over path, then fsync of the directory. A
// failure before the rename leaves path as it was and removes the temporary
// file; a failure of the directory fsync comes after the new content is in
// place.
//
// What is at path is checked first, without following links. A regular
// file or a missing one is replaced. A symbolic link is replaced too: the
// rename swaps the link itself for the new file and never writes where it
// points, so a link planted there costs nothing and the state file is
// whole again. A directory, named pipe, device or socket is refused (the
// error matches ErrNotRegular), since replacing it would silently destroy
// something akvvm did not make.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	return WriteAtomic(path, mode, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteAtomic is WriteFileAtomic for content written by write, through a
// buffer, so a large file is never held whole in memory. An error from
// write leaves path as it was.
func WriteAtomic(path string, mode os.FileMode, write func(io.Writer) error) error {
	return writeAtomic(path, mode, nil, write)
}

// Owner is the user and group a file is given; -1 leaves either as the
// process makes it.
type Owner struct {
	UID, GID int
}

// WriteFileAtomicAs is WriteFileAtomic for a file that also gets owner:
// the temporary file is created readable by the process alone (0600),
// then given owner and mode before any byte is written, and renamed over
// path only when whole. A reader of path sees the old file or the new one
// with its final owner and mode, never anything between. Changing the
// owner needs the privilege to (root, or CAP_CHOWN); without it the error
// names path and nothing is replaced.
func WriteFileAtomicAs(path string, data []byte, mode os.FileMode, owner Owner) error {
	return writeAtomic(path, mode, &owner, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

func writeAtomic(path string, mode os.FileMode, owner *Owner, write func(io.Writer) error) (err error) {
	if err := checkReplaceable(path); err != nil {
		return err // it names path
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, tempPattern(path))
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	if owner != nil && (owner.UID >= 0 || owner.GID >= 0) {
		if err = tmp.Chown(owner.UID, owner.GID); err != nil {
			return err
		}
	}
	if err = tmp.Chmod(mode); err != nil { // after the chown, which may clear mode bits
		return err
	}
	bw := bufio.NewWriter(tmp)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return SyncDir(dir)
}

// checkReplaceable refuses to replace anything at path but a regular file
// or a symbolic link.
func checkReplaceable(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking %s: %w", path, err)
	}
	if fi.Mode().IsRegular() || fi.Mode()&fs.ModeSymlink != 0 {
		return nil
	}
	return notRegular(path, fi.Mode())
}

// tempPattern is the name WriteFileAtomic gives the temporary file of path.
func tempPattern(path string) string { return "." + filepath.Base(path) + ".tmp-*" }

// RemoveTemps removes the temporary files that WriteFileAtomic calls for
// path left behind when the process was killed mid-write, and returns how
// many it removed. Call it while no other process writes path.
func RemoveTemps(path string) (int, error) {
	dir := filepath.Dir(path)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("look for temporary files of %s: %w", path, err)
	}
	prefix := strings.TrimSuffix(tempPattern(path), "*")
	var n int
	var errs []error
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), prefix) || !e.Type().IsRegular() {
			continue // not a temporary file of path
		}
		m := filepath.Join(dir, e.Name())
		if err := os.Remove(m); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove temporary file %s: %w", m, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
