package pki

import (
	"fmt"
	"os"
)

// syncDir flushes a directory so a rename in it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("pki: sync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("pki: sync directory %s: %w", dir, err)
	}
	return nil
}
