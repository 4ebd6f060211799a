//go:build !linux

package fsutil

import (
	"fmt"
	"io/fs"
	"os"
)

// ChmodDir sets the mode of the directory at path, refusing a symbolic
// link or reparse point there (checked with Lstat just before).
func ChmodDir(path string, mode fs.FileMode) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("setting mode %04o on %s: %w", mode.Perm(), path, err)
	}
	if !fi.IsDir() {
		return notDir(path, fi.Mode())
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("setting mode %04o on %s: %w", mode.Perm(), path, err)
	}
	return nil
}
