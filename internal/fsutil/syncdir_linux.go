package fsutil

import "os"

// SyncDir flushes a directory entry change, such as a rename, to disk.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
