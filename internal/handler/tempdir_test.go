package handler

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// tempDir is t.TempDir that also works under Wine, where the Windows build
// of these tests runs: there os.RemoveAll, and so t.TempDir's cleanup,
// fails ("unlinkat ... Invalid function"), while removing one file or one
// empty directory at a time works.
func tempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "akvvm-handler-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := removeTree(dir); err != nil {
			t.Errorf("remove the test directory: %v", err)
		}
	})
	return dir
}

// removeTree removes dir and everything below it, deepest entries first.
func removeTree(dir string) error {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		return err
	}
	// WalkDir lists a directory before its entries: reversed, every entry
	// comes before its directory.
	for _, p := range slices.Backward(paths) {
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	return nil
}
