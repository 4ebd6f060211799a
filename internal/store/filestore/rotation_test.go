package filestore

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/store"
)

func readLink(t *testing.T, dir, name string) string {
	t.Helper()
	target, err := os.Readlink(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Base(target)
}

func exists(dir, name string) bool {
	_, err := os.Lstat(filepath.Join(dir, name))
	return err == nil
}

func TestRotationAndDelete(t *testing.T) {
	s, dir, logs := newTestStore(t)
	target := store.Target{Location: dir}
	link := "exampleVault.myCertificate"
	f := func(v string) string { return "exampleVault.myCertificate." + v }

	mustInstall(t, s, target, newCert(t, testRef, "v1", ecKey, 1))
	mustInstall(t, s, target, newCert(t, testRef, "v2", ecKey, 1))
	if got := readLink(t, dir, link); got != f("v2") {
		t.Errorf("after the second version the link points at %s, want %s", got, f("v2"))
	}
	if !exists(dir, f("v1")) || !exists(dir, f("v2")) {
		t.Error("both version files must remain after rotation")
	}

	mustInstall(t, s, target, newCert(t, testRef, "v3", ecKey, 1))
	removed, err := s.Delete(t.Context(), target, testRef, []string{"v1", "unknown"})
	if err != nil {
		t.Fatal(err)
	}
	if got := versions(removed); !slices.Equal(got, []string{"v1"}) {
		t.Errorf("Delete(v1, unknown) removed %v, want [v1]", got)
	}
	if exists(dir, f("v1")) || !exists(dir, f("v2")) || !exists(dir, f("v3")) {
		t.Error("Delete(v1) must remove v1's file only")
	}
	if got := readLink(t, dir, link); got != f("v3") {
		t.Errorf("link points at %s, want %s", got, f("v3"))
	}
	list, err := s.List(t.Context(), target, testRef)
	if err != nil {
		t.Fatal(err)
	}
	if got := versions(list); !slices.Equal(got, []string{"v3", "v2"}) {
		t.Errorf("List = %v, want [v3 v2]", got)
	}
	if n := strings.Count(logs.String(), `"msg":"deleted certificate version"`); n != 1 {
		t.Errorf("got %d delete log lines, want 1", n)
	}
	again, err := s.Delete(t.Context(), target, testRef, []string{"v1"})
	if err != nil || len(again) != 0 {
		t.Errorf("second Delete(v1) = %v, %v; want nothing removed", versions(again), err)
	}
}

func TestDeleteRefusesTheCurrentVersion(t *testing.T) {
	s, dir, _ := newTestStore(t)
	target := store.Target{Location: dir}
	v1 := newCert(t, testRef, "v1", ecKey, 0)
	mustInstall(t, s, target, v1)
	mustInstall(t, s, target, newCert(t, testRef, "v2", ecKey, 0))
	mustInstall(t, s, target, newCert(t, testRef, "v3", ecKey, 0))
	// Re-installing v1 makes it current again without making it newer.
	mustInstall(t, s, target, v1)
	before := snapshot(t, dir)

	removed, err := s.Delete(t.Context(), target, testRef, []string{"v3", "v1"})
	if err == nil || !strings.Contains(err.Error(), "version v1 of exampleVault/myCertificate is current") || !strings.Contains(err.Error(), "make another version current first") {
		t.Fatalf("Delete of the current version = %v, %v; want a refusal naming v1 and what to do", versions(removed), err)
	}
	assertSameSnapshot(t, before, snapshot(t, dir))

	removed, err = s.Delete(t.Context(), target, testRef, []string{"v3", "v2"})
	if err != nil || !slices.Equal(versions(removed), []string{"v3", "v2"}) {
		t.Fatalf("Delete(v3, v2) = %v, %v; want [v3 v2]", versions(removed), err)
	}
	if !exists(dir, "exampleVault.myCertificate.v1") {
		t.Error("Delete removed the file the link points at")
	}
}

func TestListOrdersTiesByInstallOrder(t *testing.T) {
	s, dir, _ := newTestStore(t)
	s.clock = fixedClock{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	target := store.Target{Location: dir}
	for _, v := range []string{"c", "a", "b"} {
		mustInstall(t, s, target, newCert(t, testRef, v, ecKey, 0))
	}
	if _, err := s.MakeCurrent(t.Context(), target, testRef, "c"); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(t.Context(), target, testRef)
	if err != nil {
		t.Fatal(err)
	}
	if got := versions(list); !slices.Equal(got, []string{"c", "b", "a"}) {
		t.Errorf("with equal InstalledAt, List = %v, want the current [c] then the later installed first [b a]", got)
	}
}

func TestForeignFilesAreNeverRemoved(t *testing.T) {
	s, dir, _ := newTestStore(t)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	foreign := map[string]string{
		"exampleVault.myCertificate.0000": "named like a version of the same certificate",
		"exampleVault.other.1":            "another tool's file",
		"notes.txt":                       "hello",
	}
	for name, content := range foreign {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc/hostname", filepath.Join(dir, "someone-elses-link")); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)

	target := store.Target{Location: dir}
	for _, v := range []string{"v1", "v2", "v3"} {
		mustInstall(t, s, target, newCert(t, testRef, v, ecKey, 0))
	}
	if _, err := s.Delete(t.Context(), target, testRef, []string{"v1", "v2", "0000"}); err != nil {
		t.Fatal(err)
	}
	after := snapshot(t, dir)
	for name, want := range before {
		if after[name] != want {
			t.Errorf("foreign entry %s was changed or removed", name)
		}
	}
	list, err := s.List(t.Context(), target, testRef)
	if err != nil {
		t.Fatal(err)
	}
	if got := versions(list); !slices.Equal(got, []string{"v3"}) {
		t.Errorf("List = %v, want only [v3]: foreign files are not versions", got)
	}
}

func TestInstallRefusesForeignEntries(t *testing.T) {
	link := "exampleVault.myCertificate"
	file := "exampleVault.myCertificate.v1"
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"regular file at the link name", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, link), "mine")
		}, "not a symbolic link akvvm created"},
		{"foreign symlink at the link name", func(t *testing.T, dir string) {
			symlink(t, "/etc/hostname", filepath.Join(dir, link))
		}, "was not created by akvvm"},
		{"symlink to a foreign version-like file", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, link+".old"), "theirs")
			symlink(t, filepath.Join(dir, link+".old"), filepath.Join(dir, link))
		}, "was not created by akvvm"},
		{"different file at the version name", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, file), "theirs")
		}, "akvvm did not write it"},
		{"directory at the version name", func(t *testing.T, dir string) {
			if err := os.Mkdir(filepath.Join(dir, file), 0o700); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dir, _ := newTestStore(t)
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			tt.setup(t, dir)
			before := storeSnapshot(t, dir)
			_, err := s.Install(t.Context(), store.Target{Location: dir}, newCert(t, testRef, "v1", ecKey, 0))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Install error = %v, want one mentioning %q", err, tt.want)
			}
			assertSameSnapshot(t, before, storeSnapshot(t, dir))
		})
	}
}

func TestLinkIsExclusivePerCertificate(t *testing.T) {
	s, dir, _ := newTestStore(t)
	target := store.Target{Location: dir, LinkName: "shared"}
	mustInstall(t, s, target, newCert(t, testRef, "v1", ecKey, 0))
	other := store.Ref{Vault: "exampleVault", Name: "other"}
	_, err := s.Install(t.Context(), target, newCert(t, other, "v1", ecKey, 0))
	if err == nil || !strings.Contains(err.Error(), "already used by akvvm for exampleVault/myCertificate") {
		t.Fatalf("Install error = %v, want the link's owner named", err)
	}
}

func TestCrashLeftoversAreAdopted(t *testing.T) {
	// akvvm stopped after writing the version file and the link but before
	// saving its record: the next install of the same version takes them over.
	s, dir, _ := newTestStore(t)
	c := newCert(t, testRef, "v1", ecKey, 0)
	mustInstall(t, s, store.Target{Location: dir}, c)
	if err := os.Remove(filepath.Join(dir, recordsDirName, recordFileName(testRef))); err != nil {
		t.Fatal(err)
	}
	mustInstall(t, s, store.Target{Location: dir}, c)
	list, err := s.List(t.Context(), store.Target{Location: dir}, testRef)
	if err != nil || !slices.Equal(versions(list), []string{"v1"}) {
		t.Fatalf("List = %v, %v; want [v1] recorded again", versions(list), err)
	}
}

func TestRestartListsSameVersions(t *testing.T) {
	s, dir, _ := newTestStore(t)
	target := store.Target{Location: dir, LinkName: "current.pem"}
	v2 := newCert(t, testRef, "v2", ecKey, 1)
	mustInstall(t, s, target, newCert(t, testRef, "v1", ecKey, 1))
	mustInstall(t, s, target, v2)
	want, err := s.List(t.Context(), target, testRef)
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)

	restarted := New(Options{})
	got, err := restarted.List(t.Context(), target, testRef)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after restart List = %+v, want %+v", got, want)
	}
	mustInstall(t, restarted, target, v2)
	assertSameSnapshot(t, before, snapshot(t, dir))
}

func TestListReportsMissingFiles(t *testing.T) {
	s, dir, _ := newTestStore(t)
	target := store.Target{Location: dir}
	v1 := newCert(t, testRef, "v1", ecKey, 0)
	mustInstall(t, s, target, v1)
	mustInstall(t, s, target, newCert(t, testRef, "v2", ecKey, 0))
	if err := os.Remove(filepath.Join(dir, "exampleVault.myCertificate.v1")); err != nil {
		t.Fatal(err)
	}

	list, err := s.List(t.Context(), target, testRef)
	var missing *store.MissingFilesError
	if !errors.As(err, &missing) {
		t.Fatalf("List error = %v, want a *store.MissingFilesError", err)
	}
	if got := versions(list); !slices.Equal(got, []string{"v2"}) {
		t.Errorf("List present = %v, want [v2]", got)
	}
	if got := versions(missing.Missing); !slices.Equal(got, []string{"v1"}) || !strings.Contains(err.Error(), "exampleVault.myCertificate.v1") {
		t.Errorf("missing = %v (%v), want v1 named", got, err)
	}

	mustInstall(t, s, target, v1)
	list, err = s.List(t.Context(), target, testRef)
	if err != nil || !slices.Equal(versions(list), []string{"v1", "v2"}) || !list[0].Current || list[1].Current {
		t.Errorf("after reinstalling v1, List = %v, %v; want [v1 v2], v1 current", versions(list), err)
	}
}

func TestOperationsOnEmptyStore(t *testing.T) {
	s, dir, _ := newTestStore(t)
	target := store.Target{Location: dir}
	if list, err := s.List(t.Context(), target, testRef); err != nil || list != nil {
		t.Errorf("List on a missing directory = %v, %v; want nothing", list, err)
	}
	if removed, err := s.Delete(t.Context(), target, testRef, []string{"v1"}); err != nil || removed != nil {
		t.Errorf("Delete on a missing directory = %v, %v; want nothing", removed, err)
	}
	if _, err := s.MakeCurrent(t.Context(), target, testRef, "v1"); err == nil || !strings.Contains(err.Error(), "version v1 of exampleVault/myCertificate is not installed") {
		t.Errorf("MakeCurrent on a missing directory = %v, want an error naming the version", err)
	}
	if err := s.Recover(t.Context(), []store.Target{target}); err != nil {
		t.Errorf("Recover on a missing directory = %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Error("List, Delete, MakeCurrent or Recover created the store directory")
	}
	if _, err := s.Delete(t.Context(), target, testRef, []string{"../x"}); err == nil {
		t.Error("Delete of an invalid version succeeded, want an error")
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}
