package filestore

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/store"
)

func TestUnchangedInstallWritesNothing(t *testing.T) {
	s, dir, _ := newTestStore(t)
	target := store.Target{Location: dir}
	c := newCert(t, testRef, "v1", ecKey, 2)
	first := mustInstall(t, s, target, c)

	watched := []string{dir, filepath.Join(dir, "exampleVault.myCertificate.v1"),
		filepath.Join(dir, "exampleVault.myCertificate"), filepath.Join(dir, recordsDirName),
		filepath.Join(dir, recordsDirName, recordFileName(testRef))}
	statAll := func() []string {
		var out []string
		for _, p := range watched {
			fi, err := os.Lstat(p)
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			out = append(out, fi.ModTime().String(), fmt.Sprint(st.Ino), time.Unix(st.Ctim.Unix()).String())
		}
		return out
	}
	statBefore := statAll()
	before := snapshot(t, dir)

	again := mustInstall(t, s, target, c)
	if first.Unchanged || !again.Unchanged {
		t.Errorf("Unchanged = %v on the first Install and %v on the second, want false then true", first.Unchanged, again.Unchanged)
	}
	again.Unchanged = false
	if !reflect.DeepEqual(first, again) {
		t.Errorf("second Install returned %+v, want the original record %+v", again, first)
	}
	if !slices.Equal(statBefore, statAll()) {
		t.Error("an unchanged Install changed the mtime, ctime or inode of a directory, the file, the link or the record")
	}
	assertSameSnapshot(t, before, snapshot(t, dir))
}
