package fsutil

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/akvvm/akvvm/internal/wine"
)

// A symbolic link at the state file is opened itself and refused; the
// file it points at is not read. Creating the link needs the privilege or
// developer mode; without it the test is skipped.
func TestReadFileRefusesReparsePoint(t *testing.T) {
	wine.SkipUnder(t, "Wine's symbolic links are not NTFS reparse points, and Go's os.Remove of a temp file fails there with \"Invalid function\"")
	dir := t.TempDir()
	target := filepath.Join(dir, "secret")
	if err := os.WriteFile(target, []byte("do not read me"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "status.json")
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("cannot create a symbolic link here: %v", err)
	}
	data, err := ReadFile(link, 0)
	if data != nil || !errors.Is(err, ErrLink) {
		t.Fatalf("ReadFile of a link = %q, %v; want ErrLink", data, err)
	}
	if data, err := ReadFile(target, 0); err != nil || string(data) != "do not read me" {
		t.Fatalf("ReadFile of a regular file = %q, %v", data, err)
	}
	if _, err := ReadFile(filepath.Join(dir, "none"), 0); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadFile of a missing file = %v, want fs.ErrNotExist", err)
	}
}
