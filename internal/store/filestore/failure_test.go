package filestore

import (
	"context"
	"errors"
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

func noTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".akvvm-tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// Install of a new version fails at every write step in turn; each time the
// previous version file, link and state stay byte-identical.
func TestFailedInstallLeavesPreviousIntact(t *testing.T) {
	// Calls while installing a new version: CreateTemp/Write/Sync 1 = version
	// file, 2 = state; Rename and SyncDir 1 = version file, 2 = state, 3 = link.
	tests := []struct {
		op string
		n  int
	}{
		{"CreateTemp", 1}, {"CreateTemp", 2},
		{"Write", 1}, {"Write", 2},
		{"Sync", 1}, {"Sync", 2},
		{"Rename", 1}, {"Rename", 2}, {"Rename", 3},
		{"SyncDir", 1}, {"SyncDir", 2}, {"SyncDir", 3},
		{"Symlink", 1},
		{"ACL", 0},
	}
	for _, tt := range tests {
		name := tt.op + "#" + string(rune('0'+tt.n))
		for _, first := range []bool{false, true} {
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
				before := snapshot(t, dir)

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
				after := snapshot(t, dir)
				delete(after, lockFileName)
				delete(before, lockFileName)
				assertSameSnapshot(t, before, after)
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

func TestFailedPruneKeepsRecordOfUnremovedFiles(t *testing.T) {
	s, dir, _ := newTestStore(t)
	target := store.Target{Location: dir}
	for _, v := range []string{"v1", "v2", "v3"} {
		mustInstall(t, s, target, newCert(t, testRef, v, ecKey, 0))
	}
	s.fs = &faultFS{op: "Remove", n: 1}
	removed, err := s.Prune(t.Context(), target, testRef, 1)
	if !errors.Is(err, errInjected) {
		t.Fatalf("Prune error = %v, want the injected failure", err)
	}
	if len(removed) != 1 {
		t.Fatalf("Prune removed %v, want one of the two old versions", versions(removed))
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
