package filestore

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/store"
)

// linkRefusal is what every refusal of a planted link says.
const linkRefusal = " is a symlink; akvvm does not follow links in its store and state directories — remove it"

// A symbolic link planted at one of akvvm's files in the store is never
// followed: the operation fails naming the link, the file it points at is
// neither read nor changed, and where it points at nothing, nothing is
// created there.
func TestPlantedLinksAreNotFollowed(t *testing.T) {
	recordPath := func(dir string) string { return filepath.Join(dir, recordsDirName, recordFileName(testRef)) }
	cases := []struct {
		name string
		// installed says whether v1 is installed before the link is planted.
		installed bool
		path      func(dir string) string
		// content is what the link's existing target holds; a valid
		// record or state, so a followed link would be read without error.
		content func(t *testing.T, dir string) string
	}{
		{"record", true, recordPath, func(t *testing.T, dir string) string { return readString(t, recordPath(dir)) }},
		{"legacy state", false, func(dir string) string { return filepath.Join(dir, stateFileName) },
			func(t *testing.T, _ string) string {
				return readString(t, filepath.Join("testdata", "legacy-state.json"))
			}},
		{"directory lock", true, func(dir string) string { return filepath.Join(dir, lockFileName) }, nil},
		{"certificate lock", true, func(dir string) string { return filepath.Join(dir, recordsDirName, certLockFileName(testRef)) }, nil},
	}
	for _, tc := range cases {
		for _, dangling := range []bool{false, true} {
			name := tc.name
			if dangling {
				name += " dangling"
			}
			t.Run(name, func(t *testing.T) {
				s, dir, _ := newTestStore(t)
				target := store.Target{Location: dir}
				if tc.installed {
					mustInstall(t, s, target, newCert(t, testRef, "v1", ecKey, 0))
				} else if err := os.Mkdir(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				outside := filepath.Join(t.TempDir(), "nologin")
				content := "outside"
				if tc.content != nil {
					content = tc.content(t, dir)
				}
				if !dangling {
					writeFile(t, outside, content)
				}
				p := tc.path(dir)
				_ = os.Remove(p)
				symlink(t, outside, p)

				_, err := s.Install(t.Context(), target, newCert(t, testRef, "v2", ecKey, 0))
				if err == nil || !strings.Contains(err.Error(), p+linkRefusal) {
					t.Fatalf("Install with a link at %s = %v, want %q", p, err, p+linkRefusal)
				}
				if got, _ := os.Readlink(p); got != outside {
					t.Errorf("the planted link was changed to %q", got)
				}
				if dangling {
					if _, err := os.Lstat(outside); err == nil {
						t.Errorf("akvvm created %s, where the planted link points", outside)
					}
				} else if got := readString(t, outside); got != content {
					t.Errorf("the link's target changed")
				}
				if _, err := os.Lstat(filepath.Join(dir, versionFileName(testRef, "v2"))); err == nil {
					t.Errorf("v2 was installed past the refusal")
				}
			})
		}
	}
}

// A named pipe planted at a record is refused at once: reading it never
// waits for a writer.
func TestPlantedPipeAtRecordDoesNotHang(t *testing.T) {
	s, dir, _ := newTestStore(t)
	target := store.Target{Location: dir}
	mustInstall(t, s, target, newCert(t, testRef, "v1", ecKey, 0))
	p := filepath.Join(dir, recordsDirName, recordFileName(testRef))
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := s.List(t.Context(), target, testRef); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), p+" is a named pipe, not a regular file") {
			t.Fatalf("List with a pipe as the record = %v, want a refusal naming it", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("List blocked on a named pipe planted at the record")
	}
}

func readString(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// The store directory itself may be a link (operators point the Azure
// default at another disk that way): only akvvm's own files in it are
// never followed.
func TestLinkedStoreDirectoryIsAllowed(t *testing.T) {
	s, real, _ := newTestStore(t)
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "Microsoft.Azure.KeyVault.Store")
	symlink(t, real, dir)
	target := store.Target{Location: dir}
	mustInstall(t, s, target, newCert(t, testRef, "v1", ecKey, 0))
	mustInstall(t, s, target, newCert(t, testRef, "v2", ecKey, 0))
	if err := s.Recover(t.Context(), []store.Target{target}); err != nil {
		t.Fatal(err)
	}
	ins, err := s.List(t.Context(), target, testRef)
	if err != nil || len(ins) != 2 {
		t.Fatalf("List through a linked store = %v, %v", ins, err)
	}
	for _, name := range []string{versionFileName(testRef, "v2"), filepath.Join(recordsDirName, recordFileName(testRef))} {
		if fi, err := os.Lstat(filepath.Join(real, name)); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s is not in the link's target directory: %v", name, err)
		}
	}
	if _, err := s.Remove(t.Context(), target, testRef); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(dir); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the linked store directory was replaced: %v", err)
	}
}
