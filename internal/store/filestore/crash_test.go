package filestore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/akvvm/akvvm/internal/store"
)

var errKilled = errors.New("process killed")

// crashFS lets the first limit calls through and then acts as if the
// process had been killed: every later call fails and changes nothing, so
// no rollback runs either.
type crashFS struct {
	osFS
	limit int

	mu    sync.Mutex
	calls int
}

// step reports whether the call may still happen.
func (c *crashFS) step() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls >= c.limit {
		return errKilled
	}
	c.calls++
	return nil
}

func (c *crashFS) killed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls >= c.limit
}

func (c *crashFS) CreateTemp(dir, pattern string) (tempFile, error) {
	if err := c.step(); err != nil {
		return nil, err
	}
	f, err := c.osFS.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return crashFile{f, c}, nil
}

func (c *crashFS) Rename(o, n string) error {
	if err := c.step(); err != nil {
		return err
	}
	return c.osFS.Rename(o, n)
}

func (c *crashFS) Symlink(t, l string) error {
	if err := c.step(); err != nil {
		return err
	}
	return c.osFS.Symlink(t, l)
}

func (c *crashFS) Remove(name string) error {
	if err := c.step(); err != nil {
		return err
	}
	return c.osFS.Remove(name)
}

func (c *crashFS) Mkdir(name string, perm fs.FileMode) error {
	if err := c.step(); err != nil {
		return err
	}
	return c.osFS.Mkdir(name, perm)
}

func (c *crashFS) SyncDir(dir string) error {
	if err := c.step(); err != nil {
		return err
	}
	return c.osFS.SyncDir(dir)
}

type crashFile struct {
	tempFile
	c *crashFS
}

func (f crashFile) Write(p []byte) (int, error) {
	if err := f.c.step(); err != nil {
		return 0, err
	}
	return f.tempFile.Write(p)
}

func (f crashFile) Sync() error {
	if err := f.c.step(); err != nil {
		return err
	}
	return f.tempFile.Sync()
}

// checkConsistent checks what a restarted akvvm must find after Recover:
// no temp file, every version file in the directory recorded for its
// certificate, and every recorded link there (when a recorded version is)
// pointing at a present recorded file.
func checkConsistent(t *testing.T, dir string) {
	t.Helper()
	noTempFiles(t, dir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	recDir := filepath.Join(dir, recordsDirName)
	for _, e := range entries {
		ref, version, ok := refOfFile(e.Name())
		if !ok || !e.Type().IsRegular() || e.Name() == "exampleVault.other.foreign" {
			continue
		}
		rec, _, err := loadRecord(recDir, ref)
		if err != nil {
			t.Fatal(err)
		}
		if rec == nil || rec.version(version) < 0 {
			t.Errorf("%s is in the directory but not in its record", e.Name())
		}
	}
	for _, ref := range []store.Ref{testRef, {Vault: "exampleVault", Name: "other"}} {
		rec, _, err := loadRecord(recDir, ref)
		if err != nil {
			t.Fatal(err)
		}
		if rec == nil || rec.Link == "" {
			continue
		}
		p := filepath.Join(dir, rec.Link)
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			// Recover makes a missing link point at the newest version,
			// unless another link to the certificate is there (a link
			// name change killed before the new link was made; the
			// agent's next pass makes it).
			if !linkedElsewhere(t, dir, ref) {
				for _, v := range rec.Versions {
					if regularFile(filepath.Join(dir, v.File)) {
						t.Errorf("link %s is missing although %s is there", rec.Link, v.File)
						break
					}
				}
			}
			continue
		}
		target, err := os.Readlink(p)
		if err != nil {
			t.Errorf("link %s: %v", rec.Link, err)
			continue
		}
		if !filepath.IsAbs(target) { // a relative link (store.Target.RelativeLinks)
			target = filepath.Join(dir, target)
		}
		if !regularFile(target) || rec.versionOf(filepath.Base(target)) == "" {
			t.Errorf("link %s points at %s, which is not a present recorded version", rec.Link, target)
		}
	}
}

// linkedElsewhere reports whether a symbolic link in dir other than akvvm's
// temp links points at a file of ref.
func linkedElsewhere(t *testing.T, dir string, ref store.Ref) bool {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Type()&fs.ModeSymlink == 0 || isTempName(e.Name()) {
			continue
		}
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if owner, _, ok := refOfFile(filepath.Base(target)); ok && owner == ref {
			return true
		}
	}
	return false
}

// Each operation is killed after every number of file system calls in
// turn; a new process then runs Recover and finds a consistent store, and
// repeating the operation succeeds.
func TestKilledOperationsAreRecovered(t *testing.T) {
	other := store.Ref{Vault: "exampleVault", Name: "other"}
	type scenario struct {
		name string
		// setup prepares the directory with a working store.
		setup func(t *testing.T, s *Store, dir string)
		do    func(t *testing.T, s *Store, dir string) error
		// missingOK allows recorded versions without their file: Delete and
		// Remove take files before records.
		missingOK bool
	}
	v1 := newCert(t, testRef, "v1", ecKey, 1)
	v2 := newCert(t, testRef, "v2", ecKey, 1)
	v3 := newCert(t, testRef, "v3", ecKey, 1)
	o1 := newCert(t, other, "o1", ecKey, 0)
	target := func(dir string) store.Target { return store.Target{Location: dir} }
	install := func(c store.Certificate) func(*testing.T, *Store, string) error {
		return func(t *testing.T, s *Store, dir string) error {
			_, err := s.Install(t.Context(), target(dir), c)
			return err
		}
	}
	scenarios := []scenario{
		{"first install", func(t *testing.T, s *Store, dir string) {
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
		}, install(v1), false},
		{"new version", func(t *testing.T, s *Store, dir string) {
			mustInstall(t, s, target(dir), v1)
			mustInstall(t, s, target(dir), o1)
		}, install(v2), false},
		{"new version with ACLs", func(t *testing.T, s *Store, dir string) {
			mustInstall(t, s, target(dir), v1)
		}, func(t *testing.T, s *Store, dir string) error {
			_, err := s.Install(t.Context(), store.Target{Location: dir, ACLs: []store.ACL{{User: "alice"}}}, v2)
			return err
		}, false},
		{"rewrite of a changed file", func(t *testing.T, s *Store, dir string) {
			mustInstall(t, s, target(dir), v1)
			writeFile(t, filepath.Join(dir, "exampleVault.myCertificate.v1"), "damaged")
		}, install(v1), false},
		{"make current", func(t *testing.T, s *Store, dir string) {
			mustInstall(t, s, target(dir), v1)
			mustInstall(t, s, target(dir), v2)
		}, func(t *testing.T, s *Store, dir string) error {
			_, err := s.MakeCurrent(t.Context(), target(dir), testRef, "v1")
			return err
		}, false},
		{"link name change", func(t *testing.T, s *Store, dir string) {
			mustInstall(t, s, target(dir), v1)
		}, func(t *testing.T, s *Store, dir string) error {
			_, err := s.Install(t.Context(), store.Target{Location: dir, LinkName: "web.pem"}, v2)
			return err
		}, false},
		{"delete", func(t *testing.T, s *Store, dir string) {
			mustInstall(t, s, target(dir), v1)
			mustInstall(t, s, target(dir), v2)
			mustInstall(t, s, target(dir), v3)
		}, func(t *testing.T, s *Store, dir string) error {
			_, err := s.Delete(t.Context(), target(dir), testRef, []string{"v1", "v2"})
			return err
		}, true},
		{"remove", func(t *testing.T, s *Store, dir string) {
			mustInstall(t, s, target(dir), v1)
			mustInstall(t, s, target(dir), v2)
			mustInstall(t, s, target(dir), o1)
		}, func(t *testing.T, s *Store, dir string) error {
			_, err := s.Remove(t.Context(), target(dir), testRef)
			return err
		}, true},
		{"remove of the last certificate", func(t *testing.T, s *Store, dir string) {
			mustInstall(t, s, target(dir), v1)
		}, func(t *testing.T, s *Store, dir string) error {
			_, err := s.Remove(t.Context(), target(dir), testRef)
			return err
		}, true},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			for limit := 0; ; limit++ {
				s, dir, _ := newTestStore(t)
				s.acl = aclApplier{run: recordingACL(t), resolve: testIDs}
				sc.setup(t, s, dir)
				cfs := &crashFS{limit: limit}
				s.fs = cfs
				err := sc.do(t, s, dir)
				if !cfs.killed() {
					if err != nil {
						t.Fatalf("without a kill: %v", err)
					}
					if limit < 2 {
						t.Fatalf("the operation made only %d calls", limit)
					}
					return
				}
				t.Run(fmt.Sprintf("killed after %d calls", limit), func(t *testing.T) {
					restarted := New(Options{Logger: s.log})
					restarted.acl = s.acl
					if err := restarted.Recover(t.Context(), []store.Target{target(dir)}); err != nil {
						t.Fatalf("Recover: %v", err)
					}
					checkConsistent(t, dir)
					for _, ref := range []store.Ref{testRef, other} {
						if _, err := restarted.List(t.Context(), target(dir), ref); err != nil && !(sc.missingOK && errors.Is(err, store.ErrMissingFiles)) {
							t.Errorf("List %s after Recover: %v", ref.Name, err)
						}
					}
					if err := sc.do(t, restarted, dir); err != nil {
						t.Fatalf("repeating the operation after Recover: %v", err)
					}
					checkConsistent(t, dir)
					if err := restarted.Recover(t.Context(), []store.Target{target(dir)}); err != nil {
						t.Fatalf("second Recover: %v", err)
					}
				})
			}
		})
	}
}
