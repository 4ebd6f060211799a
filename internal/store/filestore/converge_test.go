package filestore

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/store"
)

// currentOf returns the version List marks current, checking that it comes
// first and is the only one.
func currentOf(t *testing.T, s *Store, target store.Target) string {
	t.Helper()
	list, err := s.List(t.Context(), target, testRef)
	if err != nil {
		t.Fatal(err)
	}
	cur := ""
	for i, in := range list {
		if in.Current {
			if i != 0 || cur != "" {
				t.Fatalf("List = %+v: the current version must come first, alone", list)
			}
			cur = in.Version
		}
	}
	return cur
}

func TestMakeCurrentBackwardsAndForwards(t *testing.T) {
	s, dir, logs := newTestStore(t)
	target := store.Target{Location: dir}
	for _, v := range []string{"v1", "v2", "v3"} {
		mustInstall(t, s, target, newCert(t, testRef, v, ecKey, 0))
	}
	before := recordsSnapshot(t, dir)
	for _, step := range []string{"v1", "v2", "v3", "v1"} {
		in, err := s.MakeCurrent(t.Context(), target, testRef, step)
		if err != nil {
			t.Fatalf("MakeCurrent(%s): %v", step, err)
		}
		if !in.Current || in.Version != step || in.Location != filepath.Join(dir, "exampleVault.myCertificate."+step) {
			t.Errorf("MakeCurrent(%s) returned %+v", step, in)
		}
		if got := readLink(t, dir, "exampleVault.myCertificate"); got != "exampleVault.myCertificate."+step {
			t.Errorf("after MakeCurrent(%s) the link points at %s", step, got)
		}
		if got := currentOf(t, s, target); got != step {
			t.Errorf("after MakeCurrent(%s) List marks %s current", step, got)
		}
	}
	list, err := s.List(t.Context(), target, testRef)
	if err != nil || !slices.Equal(versions(list), []string{"v1", "v3", "v2"}) {
		t.Errorf("List = %v, %v; want the current v1, then v3 v2 newest first", versions(list), err)
	}
	// Moving the link writes no record and no version file.
	assertSameSnapshot(t, before, recordsSnapshot(t, dir))
	if n := strings.Count(logs.String(), `"msg":"made installed certificate version current"`); n != 4 {
		t.Errorf("got %d log lines for moving the link, want 4", n)
	}

	// Already current: nothing changes.
	snap := snapshot(t, dir)
	if _, err := s.MakeCurrent(t.Context(), target, testRef, "v1"); err != nil {
		t.Fatal(err)
	}
	assertSameSnapshot(t, snap, snapshot(t, dir))
}

func TestMakeCurrentRefusesWhatIsNotThere(t *testing.T) {
	s, dir, _ := newTestStore(t)
	target := store.Target{Location: dir}
	mustInstall(t, s, target, newCert(t, testRef, "v1", ecKey, 0))
	mustInstall(t, s, target, newCert(t, testRef, "v2", ecKey, 0))
	if _, err := s.MakeCurrent(t.Context(), target, testRef, "v9"); err == nil ||
		!strings.Contains(err.Error(), "version v9 of exampleVault/myCertificate is not installed") || !strings.Contains(err.Error(), "install it") {
		t.Errorf("MakeCurrent(v9) = %v, want an error naming v9 and saying to install it", err)
	}
	if err := os.Remove(filepath.Join(dir, "exampleVault.myCertificate.v1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MakeCurrent(t.Context(), target, testRef, "v1"); err == nil ||
		!strings.Contains(err.Error(), "version v1 of exampleVault/myCertificate is recorded but its file") || !strings.Contains(err.Error(), "install the version again") {
		t.Errorf("MakeCurrent of a missing file = %v, want an error naming v1 and saying to reinstall", err)
	}
	if got := readLink(t, dir, "exampleVault.myCertificate"); got != "exampleVault.myCertificate.v2" {
		t.Errorf("a refused MakeCurrent moved the link to %s", got)
	}
}

func TestInstallOfAnInstalledVersionMakesItCurrent(t *testing.T) {
	s, dir, _ := newTestStore(t)
	target := store.Target{Location: dir}
	v1 := newCert(t, testRef, "v1", ecKey, 0)
	first := mustInstall(t, s, target, v1)
	mustInstall(t, s, target, newCert(t, testRef, "v2", ecKey, 0))
	again := mustInstall(t, s, target, v1)
	if !again.Current || !again.InstalledAt.Equal(first.InstalledAt) {
		t.Errorf("re-installing v1 = %+v; want it current with its original InstalledAt %v", again, first.InstalledAt)
	}
	if got := currentOf(t, s, target); got != "v1" {
		t.Errorf("List marks %s current, want v1", got)
	}
}

func TestDeleteRemovesOnlyTheNamedVersions(t *testing.T) {
	s, dir, _ := newTestStore(t)
	target := store.Target{Location: dir}
	for _, v := range []string{"v1", "v2", "v3", "v4"} {
		mustInstall(t, s, target, newCert(t, testRef, v, ecKey, 0))
	}
	removed, err := s.Delete(t.Context(), target, testRef, []string{"v1", "v3", "v3", "nope"})
	if err != nil || !slices.Equal(versions(removed), []string{"v3", "v1"}) {
		t.Fatalf("Delete = %v, %v; want [v3 v1]", versions(removed), err)
	}
	list, err := s.List(t.Context(), target, testRef)
	if err != nil || !slices.Equal(versions(list), []string{"v4", "v2"}) {
		t.Errorf("List = %v, %v; want [v4 v2]", versions(list), err)
	}
	// A version deleted outside akvvm is dropped from the record too.
	if err := os.Remove(filepath.Join(dir, "exampleVault.myCertificate.v2")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(t.Context(), target, testRef); !errors.Is(err, store.ErrMissingFiles) {
		t.Fatalf("List = %v, want missing files reported", err)
	}
	if removed, err := s.Delete(t.Context(), target, testRef, []string{"v2"}); err != nil || len(removed) != 1 {
		t.Fatalf("Delete of a missing file = %v, %v; want it dropped", versions(removed), err)
	}
	if list, err := s.List(t.Context(), target, testRef); err != nil || !slices.Equal(versions(list), []string{"v4"}) {
		t.Errorf("List = %v, %v; want [v4]", versions(list), err)
	}
}

// A recorded version whose file is already gone (deleted by hand, or a kill
// between Delete's removal and its record save) is dropped by Delete and
// returned as removed.
func TestDeleteDropsARecordedVersionWhoseFileIsGone(t *testing.T) {
	s, dir, _ := newTestStore(t)
	target := store.Target{Location: dir}
	mustInstall(t, s, target, newCert(t, testRef, "v1", ecKey, 0))
	mustInstall(t, s, target, newCert(t, testRef, "v2", ecKey, 0))
	if err := os.Remove(filepath.Join(dir, "exampleVault.myCertificate.v1")); err != nil {
		t.Fatal(err)
	}
	removed, err := s.Delete(t.Context(), target, testRef, []string{"v1"})
	if err != nil || !slices.Equal(versions(removed), []string{"v1"}) {
		t.Fatalf("Delete = %v, %v; want [v1]", versions(removed), err)
	}
	rec, _, err := loadRecord(filepath.Join(dir, recordsDirName), testRef)
	if err != nil || rec.version("v1") >= 0 {
		t.Fatalf("record %+v (%v) still lists v1", rec, err)
	}
	if list, err := s.List(t.Context(), target, testRef); err != nil || !slices.Equal(versions(list), []string{"v2"}) || !list[0].Current {
		t.Errorf("List = %+v, %v; want v2 current and no missing files", list, err)
	}
}

// The link's target is gone: nothing is current, so Delete of that version
// is not refused. It drops the version and removes akvvm's dangling link,
// which Remove would otherwise leave behind, since it no longer points at a
// recorded version. A current version whose file exists is still refused.
func TestDeleteOfTheLinksMissingTarget(t *testing.T) {
	s, dir, _ := newTestStore(t)
	target := store.Target{Location: dir}
	mustInstall(t, s, target, newCert(t, testRef, "v1", ecKey, 0))
	mustInstall(t, s, target, newCert(t, testRef, "v2", ecKey, 0))
	if _, err := s.Delete(t.Context(), target, testRef, []string{"v2"}); err == nil {
		t.Fatal("Delete of the current version with its file present succeeded")
	}
	if err := os.Remove(filepath.Join(dir, "exampleVault.myCertificate.v2")); err != nil {
		t.Fatal(err)
	}
	removed, err := s.Delete(t.Context(), target, testRef, []string{"v2"})
	if err != nil || !slices.Equal(versions(removed), []string{"v2"}) {
		t.Fatalf("Delete = %v, %v; want [v2]", versions(removed), err)
	}
	if exists(dir, "exampleVault.myCertificate") {
		t.Error("the dangling link to the deleted version is still there")
	}
	list, err := s.List(t.Context(), target, testRef)
	if err != nil || !slices.Equal(versions(list), []string{"v1"}) || list[0].Current {
		t.Fatalf("List = %+v, %v; want v1, not current, and no missing files", list, err)
	}
	if _, err := s.MakeCurrent(t.Context(), target, testRef, "v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Remove(t.Context(), target, testRef); err != nil {
		t.Fatal(err)
	}
	if got := names(t, dir); len(got) != 0 {
		t.Errorf("after Remove the directory holds %v, want nothing", got)
	}
}
