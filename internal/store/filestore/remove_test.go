package filestore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/store"
)

// writeForeign puts a file akvvm did not write into dir.
func writeForeign(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("not akvvm's"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// names lists the entries of dir.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// Remove takes every version, the link and the record of one certificate,
// leaves other certificates and foreign files alone, and does nothing the
// second time. Removing the last certificate also takes akvvm's own files.
func TestRemoveTakesOnlyWhatAkvvmInstalled(t *testing.T) {
	s, dir, logs := newTestStore(t)
	target := store.Target{Location: dir}
	other := store.Ref{Vault: "exampleVault", Name: "other"}
	mustInstall(t, s, target, newCert(t, testRef, "v1", ecKey, 1))
	mustInstall(t, s, target, newCert(t, testRef, "v2", ecKey, 1))
	mustInstall(t, s, target, newCert(t, other, "v1", ecKey, 0))
	// A file named like a version of the certificate, but not akvvm's.
	writeForeign(t, dir, "exampleVault.myCertificate.v9")
	writeForeign(t, dir, "app.pem")

	removed, err := s.Remove(t.Context(), target, testRef)
	if err != nil {
		t.Fatal(err)
	}
	if got := versions(removed); !slices.Equal(got, []string{"v2", "v1"}) {
		t.Errorf("Remove returned %v, want [v2 v1]", got)
	}
	want := []string{".akvvm-records", ".akvvm.lock", "app.pem", "exampleVault.myCertificate.v9", "exampleVault.other", "exampleVault.other.v1"}
	if got := names(t, dir); !slices.Equal(got, want) {
		t.Errorf("after Remove the directory holds %v, want %v", got, want)
	}
	if got := readLink(t, dir, "exampleVault.other"); got != "exampleVault.other.v1" {
		t.Errorf("the other certificate's link points at %s", got)
	}
	if list, err := s.List(t.Context(), target, testRef); err != nil || len(list) != 0 {
		t.Errorf("List after Remove = %v, %v; want nothing", versions(list), err)
	}
	if list, err := s.List(t.Context(), target, other); err != nil || len(list) != 1 {
		t.Errorf("List of the other certificate = %v, %v; want its version", versions(list), err)
	}
	if !strings.Contains(logs.String(), `"msg":"removed certificate version"`) {
		t.Error("no log line for the removed versions")
	}

	before := snapshot(t, dir)
	again, err := s.Remove(t.Context(), target, testRef)
	if err != nil || len(again) != 0 {
		t.Errorf("second Remove = %v, %v; want nothing removed and no error", versions(again), err)
	}
	assertSameSnapshot(t, before, snapshot(t, dir))

	if _, err := s.Remove(t.Context(), target, other); err != nil {
		t.Fatal(err)
	}
	want = []string{"app.pem", "exampleVault.myCertificate.v9"}
	if got := names(t, dir); !slices.Equal(got, want) {
		t.Errorf("after removing every certificate the directory holds %v, want %v", got, want)
	}
	// The store works again afterwards.
	mustInstall(t, s, target, newCert(t, testRef, "v3", ecKey, 0))
}

func TestRemoveOfMissingDirectoryCreatesNothing(t *testing.T) {
	s, dir, _ := newTestStore(t)
	removed, err := s.Remove(t.Context(), store.Target{Location: dir}, testRef)
	if err != nil || len(removed) != 0 {
		t.Errorf("Remove = %v, %v; want nothing removed and no error", versions(removed), err)
	}
	if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Remove created the store directory (lstat: %v)", err)
	}
}

// A link someone pointed elsewhere, or a file that took the link's name,
// is not akvvm's any more and stays.
func TestRemoveKeepsALinkThatIsNoLongerAkvvms(t *testing.T) {
	for _, repl := range []string{"symlink", "file"} {
		t.Run(repl, func(t *testing.T) {
			s, dir, _ := newTestStore(t)
			target := store.Target{Location: dir, LinkName: "web.pem"}
			mustInstall(t, s, target, newCert(t, testRef, "v1", ecKey, 0))
			writeForeign(t, dir, "mine.pem")
			link := filepath.Join(dir, "web.pem")
			if err := os.Remove(link); err != nil {
				t.Fatal(err)
			}
			if repl == "symlink" {
				if err := os.Symlink(filepath.Join(dir, "mine.pem"), link); err != nil {
					t.Fatal(err)
				}
			} else {
				writeForeign(t, dir, "web.pem")
			}
			if _, err := s.Remove(t.Context(), target, testRef); err != nil {
				t.Fatal(err)
			}
			if got := names(t, dir); !slices.Equal(got, []string{"mine.pem", "web.pem"}) {
				t.Errorf("after Remove the directory holds %v, want [mine.pem web.pem]", got)
			}
		})
	}
}

// A failed removal leaves a record of exactly what is still there, and a
// second Remove finishes the job.
func TestFailedRemoveKeepsRecordOfWhatRemains(t *testing.T) {
	t.Run("link", func(t *testing.T) {
		s, dir, _ := newTestStore(t)
		target := store.Target{Location: dir}
		mustInstall(t, s, target, newCert(t, testRef, "v1", ecKey, 0))
		before := snapshot(t, dir)
		s.fs = &faultFS{op: "Remove", n: 1}
		if _, err := s.Remove(t.Context(), target, testRef); !errors.Is(err, errInjected) {
			t.Fatalf("Remove error = %v, want the injected failure", err)
		}
		assertSameSnapshot(t, before, snapshot(t, dir))
	})
	for _, tt := range []struct {
		op string
		n  int
	}{{"Remove", 2}, {"Remove", 3}, {"Remove", 4}, {"SyncDir", 1}} {
		t.Run(fmt.Sprintf("%s#%d", tt.op, tt.n), func(t *testing.T) {
			s, dir, _ := newTestStore(t)
			target := store.Target{Location: dir}
			mustInstall(t, s, target, newCert(t, testRef, "v1", ecKey, 0))
			mustInstall(t, s, target, newCert(t, testRef, "v2", ecKey, 0))
			// Keep the records directory: another certificate stays recorded.
			other := store.Ref{Vault: "exampleVault", Name: "other"}
			mustInstall(t, s, target, newCert(t, other, "v1", ecKey, 0))
			s.fs = &faultFS{op: tt.op, n: tt.n}
			if _, err := s.Remove(t.Context(), target, testRef); !errors.Is(err, errInjected) {
				t.Fatalf("Remove error = %v, want the injected failure", err)
			}
			if exists(dir, "exampleVault.myCertificate") {
				t.Error("the link is still there, pointing at a version that may be gone")
			}
			list, err := s.List(t.Context(), target, testRef)
			for _, in := range list {
				if !exists(dir, filepath.Base(in.Location)) {
					t.Errorf("List reports %s, whose file is gone", in.Version)
				}
			}
			var missing *store.MissingFilesError
			if err != nil && !errors.As(err, &missing) {
				t.Fatalf("List after a failed Remove: %v", err)
			}
			noTempFiles(t, dir)

			s.fs = osFS{}
			if _, err := s.Remove(t.Context(), target, testRef); err != nil {
				t.Fatalf("Remove again: %v", err)
			}
			if list, err := s.List(t.Context(), target, testRef); err != nil || len(list) != 0 {
				t.Errorf("List after the second Remove = %v, %v; want nothing", versions(list), err)
			}
			want := []string{".akvvm-records", ".akvvm.lock", "exampleVault.other", "exampleVault.other.v1"}
			if got := names(t, dir); !slices.Equal(got, want) {
				t.Errorf("the directory holds %v, want %v", got, want)
			}
		})
	}
}

// Remove of a certificate that was never installed takes the directory
// lock to find that out, and leaves no lock file (nor an empty records
// directory) where nothing is recorded; where another certificate is
// recorded, akvvm's files stay.
func TestRemoveWithoutARecordLeavesNoLockFile(t *testing.T) {
	s, dir, _ := newTestStore(t)
	target := store.Target{Location: dir}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	writeForeign(t, dir, "app.pem")
	if removed, err := s.Remove(t.Context(), target, testRef); err != nil || len(removed) != 0 {
		t.Fatalf("Remove = %v, %v; want nothing removed", removed, err)
	}
	if got := names(t, dir); !slices.Equal(got, []string{"app.pem"}) {
		t.Errorf("after Remove the directory holds %v, want [app.pem]", got)
	}

	// What a first install killed after creating the records directory left.
	if err := os.Mkdir(filepath.Join(dir, recordsDirName), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, lockFileName), "")
	writeFile(t, filepath.Join(dir, recordsDirName, certLockFileName(testRef)), "")
	if _, err := s.Remove(t.Context(), target, testRef); err != nil {
		t.Fatal(err)
	}
	if got := names(t, dir); !slices.Equal(got, []string{"app.pem"}) {
		t.Errorf("after Remove the directory holds %v, want [app.pem]", got)
	}

	other := store.Ref{Vault: "exampleVault", Name: "other"}
	mustInstall(t, s, target, newCert(t, other, "o1", ecKey, 0))
	if _, err := s.Remove(t.Context(), target, testRef); err != nil {
		t.Fatal(err)
	}
	want := []string{".akvvm-records", ".akvvm.lock", "app.pem", "exampleVault.other", "exampleVault.other.o1"}
	if got := names(t, dir); !slices.Equal(got, want) {
		t.Errorf("after Remove the directory holds %v, want %v", got, want)
	}
}
