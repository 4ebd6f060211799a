//go:build !linux && !windows

package fsutil

import (
	"fmt"
	"os"
)

// openNoFollow refuses a symbolic link at path and then opens it, checking
// that the opened file is the one looked at. The directory store is meant
// for Linux; this keeps other Unix builds from following links too.
func openNoFollow(path string) (*os.File, error) {
	before, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !before.Mode().IsRegular() {
		return nil, notRegular(path, before.Mode())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	after, err := f.Stat()
	if err != nil || !os.SameFile(before, after) {
		_ = f.Close()
		return nil, fmt.Errorf("%s was replaced while akvvm opened it; %w — remove it", path, ErrLink)
	}
	return f, nil
}
