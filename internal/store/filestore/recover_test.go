package filestore

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/store"
)

// A kill after the record listed the new version as pending but before its
// file was renamed into place: List does not show the version, and Recover
// drops it and removes the temp file holding its key.
func TestRecoverDropsAPendingVersionWhoseFileNeverArrived(t *testing.T) {
	s, dir, logs := newTestStore(t)
	target := store.Target{Location: dir}
	mustInstall(t, s, target, newCert(t, testRef, "v1", ecKey, 0))
	// Calls: version temp CreateTemp, Write, Sync; record CreateTemp,
	// Write, Sync, Rename; records directory SyncDir; then the rename of
	// the version file, which the kill prevents.
	s.fs = &crashFS{limit: 8}
	if _, err := s.Install(t.Context(), target, newCert(t, testRef, "v2", ecKey, 0)); err == nil {
		t.Fatal("Install succeeded although killed")
	}
	s.fs = osFS{}
	rec, _, err := loadRecord(filepath.Join(dir, recordsDirName), testRef)
	if err != nil {
		t.Fatal(err)
	}
	i := rec.version("v2")
	if i < 0 || rec.Versions[i].Pending == "" || exists(dir, "exampleVault.myCertificate.v2") || !exists(dir, rec.Versions[i].Pending) {
		t.Fatalf("record %+v: want v2 pending with its temp file and no version file", rec.Versions)
	}
	list, err := s.List(t.Context(), target, testRef)
	if err != nil || !slices.Equal(versions(list), []string{"v1"}) {
		t.Fatalf("List = %v, %v; want [v1] and no missing file", versions(list), err)
	}

	if err := s.Recover(t.Context(), []store.Target{target, target}); err != nil {
		t.Fatal(err)
	}
	rec, _, err = loadRecord(filepath.Join(dir, recordsDirName), testRef)
	if err != nil || rec.version("v2") >= 0 {
		t.Fatalf("after Recover the record lists %v (%v), want v2 dropped", rec.Versions, err)
	}
	noTempFiles(t, dir)
	if !strings.Contains(logs.String(), "dropped a version whose install was interrupted") {
		t.Error("no log line for the dropped version")
	}
	mustInstall(t, s, target, newCert(t, testRef, "v2", ecKey, 0))
}

// Recover removes akvvm's temp files and temp links in both directories,
// and nothing else.
func TestRecoverRemovesOnlyAkvvmsTempFiles(t *testing.T) {
	s, dir, _ := newTestStore(t)
	target := store.Target{Location: dir}
	mustInstall(t, s, target, newCert(t, testRef, "v1", ecKey, 0))
	recDir := filepath.Join(dir, recordsDirName)
	writeFile(t, filepath.Join(dir, ".akvvm-tmp-123456"), "old-style temp holding a key")
	writeFile(t, filepath.Join(dir, tempPrefix+tempTag(testRef)+"-42"), "temp of a record-less write")
	symlink(t, filepath.Join(dir, "exampleVault.myCertificate.v1"), filepath.Join(dir, tempLinkPrefix+"0011223344556677"))
	writeFile(t, filepath.Join(recDir, tempPrefix+tempTag(testRef)+"-7"), "{")
	writeForeign(t, dir, "exampleVault.myCertificate.v0")
	writeForeign(t, dir, ".hidden")
	before := snapshot(t, dir)

	if err := s.Recover(t.Context(), []store.Target{target}); err != nil {
		t.Fatal(err)
	}
	noTempFiles(t, dir)
	after := snapshot(t, dir)
	for name, v := range before {
		if strings.HasPrefix(name, tempPrefix) {
			continue
		}
		if after[name] != v {
			t.Errorf("Recover changed or removed %s", name)
		}
	}
	if list, err := s.List(t.Context(), target, testRef); err != nil || !slices.Equal(versions(list), []string{"v1"}) {
		t.Errorf("List after Recover = %v, %v; want [v1]", versions(list), err)
	}
}

// A first install killed after its file was renamed into place but before
// the link was made leaves no temp file: Recover still makes the link, to
// the newest version present, also under a custom link name.
func TestRecoverMakesTheLinkAKilledFirstInstallDidNotMake(t *testing.T) {
	for _, link := range []string{"", "web.pem"} {
		t.Run("link="+link, func(t *testing.T) {
			s, dir, logs := newTestStore(t)
			target := store.Target{Location: dir, LinkName: link}
			if link == "" {
				link = "exampleVault.myCertificate"
			}
			other := store.Ref{Vault: "exampleVault", Name: "other"}
			mustInstall(t, s, store.Target{Location: dir}, newCert(t, other, "o1", ecKey, 0))
			mustInstall(t, s, target, newCert(t, testRef, "v1", ecKey, 0))
			if err := os.Remove(filepath.Join(dir, link)); err != nil {
				t.Fatal(err)
			}
			if err := s.Recover(t.Context(), []store.Target{target}); err != nil {
				t.Fatal(err)
			}
			if got := readLink(t, dir, link); got != "exampleVault.myCertificate.v1" {
				t.Errorf("after Recover the link points at %s, want v1", got)
			}
			if !strings.Contains(logs.String(), "made the missing symbolic link point at the newest installed version") {
				t.Error("no log line for the link")
			}
			if got := readLink(t, dir, "exampleVault.other"); got != "exampleVault.other.o1" {
				t.Errorf("the other certificate's link points at %s", got)
			}
		})
	}
}

// Recover in a directory akvvm never wrote into (a certificate that never
// got installed, a shared directory such as /etc/ssl/private) creates
// nothing, not even its lock file.
func TestRecoverCreatesNothingWhereAkvvmNeverWrote(t *testing.T) {
	s, dir, _ := newTestStore(t)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	writeForeign(t, dir, "app.pem")
	before := snapshot(t, dir)
	if err := s.Recover(t.Context(), []store.Target{{Location: dir}}); err != nil {
		t.Fatal(err)
	}
	assertSameSnapshot(t, before, snapshot(t, dir))

	// A temp file an older akvvm left is removed, and the lock file taken
	// for that does not stay.
	writeFile(t, filepath.Join(dir, ".akvvm-tmp-123456"), "old-style temp")
	if err := s.Recover(t.Context(), []store.Target{{Location: dir}}); err != nil {
		t.Fatal(err)
	}
	assertSameSnapshot(t, before, snapshot(t, dir))
}
