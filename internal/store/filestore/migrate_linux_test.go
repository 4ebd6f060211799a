package filestore

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/store"
)

// Versions in testdata/legacy-state.json, which the store wrote before
// per-certificate records (two versions of myCertificate, the newer one
// with an ACL, and "other" behind the custom link web.pem).
const (
	legacyOld   = "0123456789abcdef0123456789abcdef"
	legacyNew   = "fedcba9876543210fedcba9876543210"
	legacyOther = "00000000000000000000000000000001"
)

// legacyStore lays out a store directory as the previous akvvm left it.
func legacyStore(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	state, err := os.ReadFile(filepath.Join("testdata", "legacy-state.json"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, stateFileName), string(state))
	writeFile(t, filepath.Join(dir, lockFileName), "")
	other := store.Ref{Vault: "exampleVault", Name: "other"}
	files := []string{versionFileName(testRef, legacyOld), versionFileName(testRef, legacyNew), versionFileName(other, legacyOther)}
	for _, f := range files {
		writeFile(t, filepath.Join(dir, f), "PEM of "+f)
	}
	symlink(t, filepath.Join(dir, files[1]), filepath.Join(dir, "exampleVault.myCertificate"))
	symlink(t, filepath.Join(dir, files[2]), filepath.Join(dir, "web.pem"))
	writeForeign(t, dir, "app.pem")
	return dir
}

// inodes describes each entry's inode and change time, which a rewrite changes.
func inodes(t *testing.T, dir string, names ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, n := range names {
		fi, err := os.Lstat(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		out[n] = fmt.Sprint(st.Ino, st.Ctim)
	}
	return out
}

func TestMigrationOfTheOldStateFile(t *testing.T) {
	dir := legacyStore(t)
	s, _, logs := newTestStore(t)
	target := store.Target{Location: dir}
	certFiles := []string{"app.pem", "exampleVault.myCertificate", "web.pem",
		versionFileName(testRef, legacyOld), versionFileName(testRef, legacyNew), "exampleVault.other." + legacyOther}
	before := snapshot(t, dir)
	beforeInodes := inodes(t, dir, certFiles...)

	list, err := s.List(t.Context(), target, testRef)
	if err != nil {
		t.Fatal(err)
	}
	if got := versions(list); !slices.Equal(got, []string{legacyNew, legacyOld}) || !list[0].Current {
		t.Fatalf("List after migration = %v, want [%s %s] with the first current", got, legacyNew, legacyOld)
	}
	if list[0].Thumbprint != "D0EAEF752791672FDD9249F9033943A244127683" || list[1].InstalledAt.IsZero() {
		t.Errorf("migrated versions lost their record: %+v", list)
	}
	rec, _, err := loadRecord(filepath.Join(dir, recordsDirName), testRef)
	if err != nil || !slices.Equal(rec.Versions[rec.version(legacyNew)].ACLs, []string{"u:alice"}) {
		t.Errorf("migrated record %+v (%v): want the ACL kept", rec, err)
	}
	other := store.Ref{Vault: "exampleVault", Name: "other"}
	olist, err := s.List(t.Context(), store.Target{Location: dir, LinkName: "web.pem"}, other)
	if err != nil || !slices.Equal(versions(olist), []string{legacyOther}) || !olist[0].Current {
		t.Errorf("List of the other certificate = %+v, %v; want its version current", olist, err)
	}
	if exists(dir, stateFileName) {
		t.Error("the old state file is still there")
	}
	// No certificate file or link was rewritten.
	after := snapshot(t, dir)
	for _, n := range certFiles {
		if after[n] != before[n] {
			t.Errorf("migration changed %s", n)
		}
	}
	if got := inodes(t, dir, certFiles...); !maps.Equal(got, beforeInodes) {
		t.Error("migration rewrote a certificate file or link")
	}
	if n := strings.Count(logs.String(), `"msg":"migrated the store state to per-certificate records"`); n != 1 {
		t.Errorf("got %d migration log lines, want 1", n)
	}

	// The migrated store works as any other.
	if _, err := s.MakeCurrent(t.Context(), target, testRef, legacyOld); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(t.Context(), target, testRef, []string{legacyNew}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []store.Ref{testRef, other} {
		if _, err := s.Remove(t.Context(), target, r); err != nil {
			t.Fatal(err)
		}
	}
	if got := names(t, dir); !slices.Equal(got, []string{"app.pem"}) {
		t.Errorf("after removing everything the directory holds %v, want [app.pem]", got)
	}
}

// A migration that fails before the old state file is removed keeps it,
// and the next use finishes the job; Recover migrates too.
func TestInterruptedMigrationIsFinished(t *testing.T) {
	dir := legacyStore(t)
	s, _, _ := newTestStore(t)
	target := store.Target{Location: dir}
	s.fs = &faultFS{op: "Remove", n: 1}
	if _, err := s.List(t.Context(), target, testRef); !errors.Is(err, errInjected) {
		t.Fatalf("List = %v, want the injected failure", err)
	}
	if !exists(dir, stateFileName) {
		t.Fatal("the old state file went although the migration failed")
	}
	s.fs = osFS{}
	if err := s.Recover(t.Context(), []store.Target{target}); err != nil {
		t.Fatal(err)
	}
	if exists(dir, stateFileName) {
		t.Error("Recover did not finish the migration")
	}
	list, err := s.List(t.Context(), target, testRef)
	if err != nil || len(list) != 2 {
		t.Errorf("List = %v, %v; want both migrated versions", versions(list), err)
	}
}

// An older akvvm that ran again after the migration (upgrade overlap or
// downgrade) wrote a new state file next to the records. Migrating it again
// merges: the record keeps its own entries and link, and gains the versions
// only the state file lists; no version is dropped.
func TestMigrationMergesWithAnExistingRecord(t *testing.T) {
	dir := legacyStore(t)
	s, _, _ := newTestStore(t)
	target := store.Target{Location: dir}
	recDir := filepath.Join(dir, recordsDirName)
	if err := os.Mkdir(recDir, 0o700); err != nil {
		t.Fatal(err)
	}
	// The record the new akvvm wrote: the newer legacy version (with its
	// own ACLs) and a version v3 the state file does not know, current.
	st, err := loadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecord(testRef)
	rec.Link = "exampleVault.myCertificate"
	v := st.cert(testRef).Versions[1]
	v.ACLs = []string{"g:web", "u:alice"}
	v3 := versionState{Version: "v3", File: versionFileName(testRef, "v3"), Thumbprint: "AB", InstalledAt: v.InstalledAt.Add(time.Hour)}
	rec.Versions = []versionState{v, v3}
	if _, err := saveRecord(osFS{}, recDir, rec, nil); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, v3.File), "PEM of v3")
	if err := os.Remove(filepath.Join(dir, "exampleVault.myCertificate")); err != nil {
		t.Fatal(err)
	}
	symlink(t, filepath.Join(dir, v3.File), filepath.Join(dir, "exampleVault.myCertificate"))

	list, err := s.List(t.Context(), target, testRef)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := versions(list), []string{"v3", legacyNew, legacyOld}; !slices.Equal(got, want) || !list[0].Current {
		t.Fatalf("List after the merge = %v, want %v with v3 current", got, want)
	}
	got, _, err := loadRecord(recDir, testRef)
	if err != nil {
		t.Fatal(err)
	}
	if acls := got.Versions[got.version(legacyNew)].ACLs; !slices.Equal(acls, v.ACLs) {
		t.Errorf("the merge replaced the record's entry: ACLs %v, want %v", acls, v.ACLs)
	}
	if got.version(legacyOld) != 0 || got.version("v3") != 2 {
		t.Errorf("merged versions %v are not in install order", got.Versions)
	}
	if exists(dir, stateFileName) {
		t.Error("the old state file is still there")
	}
	// Every version file is recorded, so Remove takes them all.
	other := store.Ref{Vault: "exampleVault", Name: "other"}
	for _, r := range []store.Ref{testRef, other} {
		if _, err := s.Remove(t.Context(), target, r); err != nil {
			t.Fatal(err)
		}
	}
	if got := names(t, dir); !slices.Equal(got, []string{"app.pem"}) {
		t.Errorf("after removing everything the directory holds %v, want [app.pem]", got)
	}
}
