// The modes these tests assert are POSIX permission bits.

//go:build !windows

package fsutil

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.json")
	if err := WriteFileAtomic(path, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(path, []byte("two"), 0o640); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil || string(data) != "two" {
		t.Fatalf("content = %q, %v", data, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v, want 0640", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestWriteFileAtomicFailureKeepsOld(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := WriteFileAtomic(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A directory in the way of the rename makes the write fail.
	blocked := filepath.Join(dir, "sub")
	if err := os.MkdirAll(filepath.Join(blocked, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(blocked, []byte("new"), 0o600); err == nil {
		t.Fatal("rename over a non-empty directory succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("temporary file left behind: %v", entries)
	}
	if data, _ := os.ReadFile(path); string(data) != "old" {
		t.Errorf("unrelated file changed: %q", data)
	}
}

func TestRemoveTempsRemovesOnlyThisFilesTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "status.json")
	if err := WriteFileAtomic(path, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	// What a kill between CreateTemp and rename leaves, twice, and files
	// that are not status.json's temporaries.
	for _, name := range []string{".status.json.tmp-1", ".status.json.tmp-22", ".other.json.tmp-1", "status.json.tmp-1"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	n, err := RemoveTemps(path)
	if err != nil || n != 2 {
		t.Fatalf("RemoveTemps = %d, %v; want 2 removed", n, err)
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := []string{".other.json.tmp-1", "status.json", "status.json.tmp-1"}
	if len(left) != len(want) {
		t.Fatalf("left %v, want %v", left, want)
	}
	for i := range want {
		if left[i] != want[i] {
			t.Fatalf("left %v, want %v", left, want)
		}
	}
}

func TestRemoveTempsTakesTheDirectoryLiterally(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "state[1]")
	other := filepath.Join(parent, "state1")
	for _, d := range []string{dir, other} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, ".status.json.tmp-9"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := RemoveTemps(filepath.Join(dir, "status.json")); n != 1 || err != nil {
		t.Fatalf("RemoveTemps = %d, %v; want 1", n, err)
	}
	if _, err := os.Stat(filepath.Join(other, ".status.json.tmp-9")); err != nil {
		t.Errorf("a temporary file in another directory was removed: %v", err)
	}
}
