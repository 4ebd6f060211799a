package fsutil

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// secretTarget makes a file outside the directory under test that a
// planted link points at, and returns its path.
func secretTarget(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte("do not read me"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func assertUnchanged(t *testing.T, p string) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil || string(data) != "do not read me" {
		t.Fatalf("link target %s changed: %q, %v", p, data, err)
	}
}

func TestReadFileRegular(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f.json")
	if err := os.WriteFile(p, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := ReadFile(p, 0)
	if err != nil || string(data) != "{}" {
		t.Fatalf("ReadFile = %q, %v", data, err)
	}
}

func TestReadFileMissingIsNotExist(t *testing.T) {
	_, err := ReadFile(filepath.Join(t.TempDir(), "none"), 0)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
}

func TestReadFileRefusesSymlink(t *testing.T) {
	target := secretTarget(t)
	dir := t.TempDir()
	for name, to := range map[string]string{"link": target, "dangling": filepath.Join(dir, "none")} {
		p := filepath.Join(dir, name)
		if err := os.Symlink(to, p); err != nil {
			t.Fatal(err)
		}
		data, err := ReadFile(p, 0)
		if data != nil || !errors.Is(err, ErrLink) {
			t.Fatalf("%s: ReadFile = %q, %v; want ErrLink", name, data, err)
		}
		want := p + " is a symlink; akvvm does not follow links in its store and state directories — remove it"
		if err.Error() != want {
			t.Errorf("%s: error %q, want %q", name, err, want)
		}
	}
	assertUnchanged(t, target)
}

func TestReadFileFollowsLinkedDirectory(t *testing.T) {
	real := t.TempDir()
	if err := os.WriteFile(filepath.Join(real, "f"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	linked := filepath.Join(t.TempDir(), "store")
	if err := os.Symlink(real, linked); err != nil {
		t.Fatal(err)
	}
	if data, err := ReadFile(filepath.Join(linked, "f"), 0); err != nil || string(data) != "x" {
		t.Fatalf("a file in a linked directory: %q, %v", data, err)
	}
}

func TestReadFileFIFODoesNotHang(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := ReadFile(p, 0); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), p+" is a named pipe, not a regular file") {
			t.Fatalf("err = %v, want a named pipe refusal", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadFile blocked on a named pipe")
	}
}

func TestReadFileRefusesDirectory(t *testing.T) {
	p := t.TempDir()
	if _, err := ReadFile(p, 0); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("err = %v, want ErrNotRegular", err)
	}
}

func TestReadFileBound(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(p, make([]byte, 101), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(p, 100); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if data, err := ReadFile(p, 101); err != nil || len(data) != 101 {
		t.Fatalf("at the bound: %d bytes, %v", len(data), err)
	}
}

func TestChmodDir(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	p := filepath.Join(t.TempDir(), "d")
	if err := os.Mkdir(p, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := ChmodDir(p, 0o750); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(p); fi.Mode().Perm() != 0o750 {
		t.Errorf("mode = %v, want 0750", fi.Mode().Perm())
	}
}

func TestChmodDirRefusesSymlink(t *testing.T) {
	target := t.TempDir()
	if err := os.Chmod(target, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "d")
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
	err := ChmodDir(p, 0o700)
	if !errors.Is(err, ErrLink) {
		t.Fatalf("err = %v, want ErrLink", err)
	}
	if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o755 {
		t.Errorf("the link's target changed mode to %v", fi.Mode().Perm())
	}
}

func TestWriteFileAtomicReplacesLinkNotTarget(t *testing.T) {
	target := secretTarget(t)
	p := filepath.Join(t.TempDir(), "status.json")
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("%s is not a regular file after the write: %v, %v", p, fi, err)
	}
	if data, _ := os.ReadFile(p); string(data) != "new" {
		t.Errorf("content = %q", data)
	}
	assertUnchanged(t, target)
}

func TestWriteFileAtomicRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, empty} {
		before, _ := os.Lstat(p)
		err := WriteFileAtomic(p, []byte("x"), 0o600)
		if !errors.Is(err, ErrNotRegular) {
			t.Fatalf("%s: err = %v, want ErrNotRegular", p, err)
		}
		if after, _ := os.Lstat(p); after == nil || after.Mode() != before.Mode() {
			t.Errorf("%s was replaced", p)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("temporary files left: %v", entries)
	}
}
