package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/akvvm/akvvm/internal/store"
)

var errInjected = errors.New("injected failure")

// faultFS fails the n-th call of one operation and passes everything else
// to the real file system.
type faultFS struct {
	osFS
	op string
	n  int

	mu    sync.Mutex
	calls map[string]int
}

func (f *faultFS) fail(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[op]++
	if op == f.op && f.calls[op] == f.n {
		return errInjected
	}
	return nil
}

func (f *faultFS) CreateTemp(dir, pattern string) (tempFile, error) {
	if err := f.fail("CreateTemp"); err != nil {
		return nil, err
	}
	tf, err := f.osFS.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return faultFile{tf, f}, nil
}

func (f *faultFS) Rename(oldpath, newpath string) error {
	if err := f.fail("Rename"); err != nil {
		return err
	}
	return f.osFS.Rename(oldpath, newpath)
}

func (f *faultFS) Symlink(target, link string) error {
	if err := f.fail("Symlink"); err != nil {
		return err
	}
	return f.osFS.Symlink(target, link)
}

func (f *faultFS) Remove(name string) error {
	if err := f.fail("Remove"); err != nil {
		return err
	}
	return f.osFS.Remove(name)
}

func (f *faultFS) Mkdir(name string, perm fs.FileMode) error {
	if err := f.fail("Mkdir"); err != nil {
		return err
	}
	return f.osFS.Mkdir(name, perm)
}

// SyncDir fails after the real sync, like a failure reported late.
func (f *faultFS) SyncDir(dir string) error {
	if err := f.osFS.SyncDir(dir); err != nil {
		return err
	}
	return f.fail("SyncDir")
}

type faultFile struct {
	tempFile
	fs *faultFS
}

func (f faultFile) Write(p []byte) (int, error) {
	if err := f.fs.fail("Write"); err != nil {
		return 0, err
	}
	return f.tempFile.Write(p)
}

func (f faultFile) Sync() error {
	if err := f.fs.fail("Sync"); err != nil {
		return err
	}
	return f.tempFile.Sync()
}

// failingACL fails every setfacl call.
type failingACL struct{}

func (failingACL) Setfacl(context.Context, ...string) error { return errInjected }

// noTempFiles checks that dir and its records directory hold no temp file.
func noTempFiles(t *testing.T, dir string) {
	t.Helper()
	for _, d := range []string{dir, filepath.Join(dir, recordsDirName)} {
		entries, err := os.ReadDir(d)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".akvvm-tmp") {
				t.Errorf("temporary file %s left behind in %s", e.Name(), d)
			}
		}
	}
}

// recordsSnapshot describes the records directory without lock files
// (nil when it does not exist).
func recordsSnapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	recDir := filepath.Join(dir, recordsDirName)
	if _, err := os.Lstat(recDir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	snap := snapshot(t, recDir)
	for name := range snap {
		if strings.HasSuffix(name, certLockSuffix) {
			delete(snap, name)
		}
	}
	return snap
}

// storeSnapshot describes the store directory and its records, leaving out
// lock files and the (possibly new, empty) records directory entry itself.
func storeSnapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	snap := snapshot(t, dir)
	delete(snap, lockFileName)
	delete(snap, recordsDirName)
	for name, v := range recordsSnapshot(t, dir) {
		snap[recordsDirName+"/"+name] = v
	}
	return snap
}

// Install of a new version fails at every write step in turn; each time the
// previous version file, link and record stay byte-identical and no temp
// file is left.
func TestFailedInstallLeavesPreviousIntact(t *testing.T) {
	// Calls while installing a new version: CreateTemp/Write/Sync 1 =
	// version file, 2 = record; Rename 1 = record, 2 = version file, 3 =
	// link; SyncDir 1 = records directory, 2 = store directory. The first
	// install into a directory first makes the records directory (Mkdir)
	// and flushes the store directory, so its SyncDir calls shift by one.
	tests := []struct {
		op        string
		n         int
		firstOnly bool
	}{
		{"CreateTemp", 1, false}, {"CreateTemp", 2, false},
		{"Write", 1, false}, {"Write", 2, false},
		{"Sync", 1, false}, {"Sync", 2, false},
		{"Rename", 1, false}, {"Rename", 2, false}, {"Rename", 3, false},
		{"SyncDir", 1, false}, {"SyncDir", 2, false}, {"SyncDir", 3, true},
		{"Symlink", 1, false},
		{"Mkdir", 1, true},
		{"ACL", 0, false},
	}
	for _, tt := range tests {
		for _, first := range []bool{false, true} {
			if tt.firstOnly && !first {
				continue
			}
			name := fmt.Sprintf("%s#%d", tt.op, tt.n)
			if first {
				name += " first install"
			}
			t.Run(name, func(t *testing.T) {
				s, dir, _ := newTestStore(t)
				target := store.Target{Location: dir}
				if !first {
					mustInstall(t, s, target, newCert(t, testRef, "v1", ecKey, 1))
				} else if err := os.Mkdir(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				before := storeSnapshot(t, dir)

				if tt.op == "ACL" {
					target.ACLs = []store.ACL{{User: "root"}}
					s.acl = aclApplier{run: failingACL{}, resolve: osResolver{}}
				} else {
					s.fs = &faultFS{op: tt.op, n: tt.n}
				}
				_, err := s.Install(t.Context(), target, newCert(t, testRef, "v2", ecKey, 1))
				if !errors.Is(err, errInjected) {
					t.Fatalf("Install error = %v, want the injected failure", err)
				}
				assertSameSnapshot(t, before, storeSnapshot(t, dir))
				noTempFiles(t, dir)

				// The store recovers once the failure is gone.
				s.fs, s.acl = osFS{}, aclApplier{run: recordingACL(t), resolve: osResolver{}}
				mustInstall(t, s, target, newCert(t, testRef, "v2", ecKey, 1))
				list, err := s.List(t.Context(), target, testRef)
				want := []string{"v2", "v1"}
				if first {
					want = want[:1]
				}
				if err != nil || !slices.Equal(versions(list), want) {
					t.Errorf("after recovery List = %v, %v; want %v", versions(list), err, want)
				}
				if got := readLink(t, dir, "exampleVault.myCertificate"); got != "exampleVault.myCertificate.v2" {
					t.Errorf("after recovery the link points at %s", got)
				}
			})
		}
	}
}

// MakeCurrent fails at each of its steps; the link stays where it was.
func TestFailedMakeCurrentKeepsTheLink(t *testing.T) {
	for _, tt := range []struct {
		op string
		n  int
	}{{"Symlink", 1}, {"Rename", 1}, {"SyncDir", 1}} {
		t.Run(fmt.Sprintf("%s#%d", tt.op, tt.n), func(t *testing.T) {
			s, dir, _ := newTestStore(t)
			target := store.Target{Location: dir}
			mustInstall(t, s, target, newCert(t, testRef, "v1", ecKey, 0))
			mustInstall(t, s, target, newCert(t, testRef, "v2", ecKey, 0))
			before := storeSnapshot(t, dir)
			s.fs = &faultFS{op: tt.op, n: tt.n}
			if _, err := s.MakeCurrent(t.Context(), target, testRef, "v1"); !errors.Is(err, errInjected) {
				t.Fatalf("MakeCurrent error = %v, want the injected failure", err)
			}
			assertSameSnapshot(t, before, storeSnapshot(t, dir))
			noTempFiles(t, dir)
		})
	}
}

func TestFailedDeleteKeepsRecordOfUnremovedFiles(t *testing.T) {
	s, dir, _ := newTestStore(t)
	target := store.Target{Location: dir}
	for _, v := range []string{"v1", "v2", "v3"} {
		mustInstall(t, s, target, newCert(t, testRef, v, ecKey, 0))
	}
	s.fs = &faultFS{op: "Remove", n: 1}
	removed, err := s.Delete(t.Context(), target, testRef, []string{"v1", "v2"})
	if !errors.Is(err, errInjected) {
		t.Fatalf("Delete error = %v, want the injected failure", err)
	}
	if len(removed) != 1 {
		t.Fatalf("Delete removed %v, want one of the two old versions", versions(removed))
	}
	list, err := s.List(t.Context(), target, testRef)
	if err != nil || len(list) != 2 {
		t.Fatalf("List = %v, %v; want the version whose removal failed still recorded", versions(list), err)
	}
	for _, in := range list {
		if _, err := os.Stat(filepath.Join(dir, filepath.Base(in.Location))); err != nil {
			t.Errorf("recorded version %s has no file: %v", in.Version, err)
		}
	}
}
