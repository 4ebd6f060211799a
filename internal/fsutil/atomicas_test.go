//go:build !windows

package fsutil

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWriteFileAtomicAsSetsModeAndOwner(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret")
	if err := os.WriteFile(path, []byte("old value"), 0o644); err != nil {
		t.Fatal(err)
	}
	uid, gid := os.Getuid(), os.Getgid()
	if os.Geteuid() == 0 {
		uid, gid = 65534, 65534 // nobody: only root may give a file away
	}
	if err := WriteFileAtomicAs(path, []byte("new"), 0o440, Owner{UID: uid, GID: gid}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o440 {
		t.Errorf("mode = %v, want 0440", fi.Mode().Perm())
	}
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Uid) != uid || int(st.Gid) != gid {
		t.Errorf("owner = %d:%d, want %d:%d", st.Uid, st.Gid, uid, gid)
	}
	if data, _ := os.ReadFile(path); os.Geteuid() == 0 && string(data) != "new" {
		t.Errorf("content = %q", data)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestWriteFileAtomicAsRefusedChownKeepsOld(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root may give a file to anyone")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "secret")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomicAs(path, []byte("new"), 0o600, Owner{UID: 0, GID: -1}); err == nil {
		t.Fatal("a chown to root by an unprivileged process succeeded")
	}
	if data, _ := os.ReadFile(path); string(data) != "old" {
		t.Errorf("content = %q, want the old one", data)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}
