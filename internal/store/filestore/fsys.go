package filestore

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// fileSystem is the seam for every write the store makes, so tests can make
// any single step fail (or count the fsyncs). Reads use the os package
// directly.
type fileSystem interface {
	// CreateTemp creates a new file with O_EXCL and mode 0600 in dir.
	CreateTemp(dir, pattern string) (tempFile, error)
	Rename(oldpath, newpath string) error
	Symlink(target, link string) error
	Remove(name string) error
	// Mkdir creates a directory with mode perm (subject to the umask).
	Mkdir(name string, perm fs.FileMode) error
	// SyncDir flushes dir's entries to stable storage.
	SyncDir(dir string) error
}

// tempFile is the part of *os.File that writing a temp file needs.
type tempFile interface {
	Write(p []byte) (int, error)
	Sync() error
	Close() error
	Name() string
}

// osFS is the real file system.
type osFS struct{}

func (osFS) CreateTemp(dir, pattern string) (tempFile, error) {
	// os.CreateTemp opens with O_RDWR|O_CREATE|O_EXCL and mode 0600.
	return os.CreateTemp(dir, pattern)
}

func (osFS) Rename(oldpath, newpath string) error      { return os.Rename(oldpath, newpath) }
func (osFS) Symlink(target, link string) error         { return os.Symlink(target, link) }
func (osFS) Remove(name string) error                  { return os.Remove(name) }
func (osFS) Mkdir(name string, perm fs.FileMode) error { return os.Mkdir(name, perm) }

func (osFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeTemp writes data to a new temp file in dir named after pattern,
// fsyncs and closes it, and returns its path. On failure nothing is left.
func writeTemp(fsys fileSystem, dir, pattern string, data []byte) (string, error) {
	f, err := fsys.CreateTemp(dir, pattern)
	if err != nil {
		return "", fmt.Errorf("creating a temporary file in %s: %w", dir, err)
	}
	tmp := f.Name()
	fail := func(err error) (string, error) {
		_ = fsys.Remove(tmp)
		return "", err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fail(fmt.Errorf("writing %s: %w", tmp, err))
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fail(fmt.Errorf("flushing %s to disk: %w", tmp, err))
	}
	if err := f.Close(); err != nil {
		return fail(fmt.Errorf("closing %s: %w", tmp, err))
	}
	return tmp, nil
}

// writeAtomic replaces dir/name with data: a temp file in the same
// directory is written, fsynced, closed and renamed over the name. The
// directory is not fsynced; the caller does that once for all its changes.
// On failure the temp file is removed and dir/name is untouched.
func writeAtomic(fsys fileSystem, dir, pattern, name string, data []byte) error {
	tmp, err := writeTemp(fsys, dir, pattern, data)
	if err != nil {
		return err
	}
	if err := fsys.Rename(tmp, filepath.Join(dir, name)); err != nil {
		_ = fsys.Remove(tmp)
		return fmt.Errorf("renaming %s to %s: %w", tmp, name, err)
	}
	return nil
}

// swapLink points dir/name at target atomically: a temp symlink in the same
// directory is renamed over the name. This relies on POSIX rename semantics
// for symbolic links (Linux); on Windows creating symlinks needs privileges.
// The directory is not fsynced; the caller does that.
func swapLink(fsys fileSystem, dir, name, target string) error {
	var tmp string
	for attempt := 0; ; attempt++ {
		var b [8]byte
		_, _ = rand.Read(b[:])
		tmp = filepath.Join(dir, tempLinkPrefix+hex.EncodeToString(b[:]))
		err := fsys.Symlink(target, tmp)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || attempt == 3 {
			return fmt.Errorf("creating a temporary symbolic link in %s: %w", dir, err)
		}
	}
	if err := fsys.Rename(tmp, filepath.Join(dir, name)); err != nil {
		_ = fsys.Remove(tmp)
		return fmt.Errorf("replacing symbolic link %s: %w", name, err)
	}
	return nil
}

// syncDir wraps fsys.SyncDir with an error that names the directory.
func syncDir(fsys fileSystem, dir string) error {
	if err := fsys.SyncDir(dir); err != nil {
		return fmt.Errorf("flushing directory %s to disk: %w", dir, err)
	}
	return nil
}
