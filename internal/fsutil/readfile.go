package fsutil

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// MaxReadSize is the most ReadFile reads. Records, state, status and
// settings files are kilobytes; 16 MiB leaves room for thousands of
// certificates and still bounds the memory a planted file can cost.
const MaxReadSize = 16 << 20

// ErrLink is matched by the errors about a symbolic link (or, on Windows,
// another reparse point) where akvvm reads or replaces one of its files.
var ErrLink = errors.New("akvvm does not follow links in its store and state directories")

// ErrNotRegular is matched by the errors about a directory, named pipe,
// device or socket where akvvm expects one of its files.
var ErrNotRegular = errors.New("akvvm reads and replaces only regular files in its store and state directories")

// ErrTooLarge is matched by the error about a file larger than the bound
// its reader passed.
var ErrTooLarge = errors.New("akvvm refuses to read it")

// ReadFile reads the regular file at path, at most max bytes (MaxReadSize
// when max is 0 or larger). It does not follow a symbolic link at path,
// does not block on a named pipe, and checks the opened file itself, so
// nothing swapped in between a check and the read is read. Links in the
// directories leading to path are followed. A missing file gives an error
// that matches fs.ErrNotExist.
func ReadFile(path string, max int64) ([]byte, error) {
	if max <= 0 || max > MaxReadSize {
		max = MaxReadSize
	}
	f, err := openNoFollow(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := regularSize(f, path)
	if err != nil {
		return nil, err
	}
	if size > max {
		return nil, tooLarge(path, max)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(data)) > max {
		clear(data)
		return nil, tooLarge(path, max) // it grew while being read
	}
	return data, nil
}

// regularSize returns the size of the opened file f, refusing anything
// but a regular file.
func regularSize(f *os.File, path string) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("checking %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return 0, notRegular(path, fi.Mode())
	}
	return fi.Size(), nil
}

// LinkError is the refusal of a symbolic link at path; it matches ErrLink.
func LinkError(path string) error {
	return fmt.Errorf("%s is a symlink; %w — remove it", path, ErrLink)
}

// notRegular is the refusal of a non-regular file at path.
func notRegular(path string, mode fs.FileMode) error {
	if mode&fs.ModeSymlink != 0 {
		return LinkError(path)
	}
	return fmt.Errorf("%s is %s, not a regular file; %w — remove it", path, kind(mode), ErrNotRegular)
}

func tooLarge(path string, max int64) error {
	return fmt.Errorf("%s is larger than %d bytes; %w — remove it or move it away", path, max, ErrTooLarge)
}

// kind names the type of a non-regular file for messages.
func kind(mode fs.FileMode) string {
	switch {
	case mode.IsRegular():
		return "a regular file"
	case mode.IsDir():
		return "a directory"
	case mode&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeDevice != 0:
		return "a device"
	case mode&fs.ModeIrregular != 0:
		return "a special file"
	}
	return "a " + mode.Type().String() + " file"
}

// notDir is the refusal of something other than a directory at path.
func notDir(path string, mode fs.FileMode) error {
	if mode&fs.ModeSymlink != 0 {
		return LinkError(path)
	}
	return fmt.Errorf("%s is %s, not a directory — remove it or move it away", path, kind(mode))
}
