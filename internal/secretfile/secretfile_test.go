//go:build !windows

package secretfile

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func newTarget(t *testing.T) (Target, *Files) {
	t.Helper()
	dir := t.TempDir()
	return Target{URL: "https://v.vault.azure.net/secrets/db", Path: filepath.Join(dir, "app", "db.txt"), Mode: 0o640},
		New(filepath.Join(dir, "state", "secrets"))
}

func TestWriteRecordsVersionAndFileIsCurrent(t *testing.T) {
	tg, f := newTarget(t)
	if _, ok, _, err := f.Current(tg); ok || err != nil {
		t.Fatalf("Current before any write = ok %v, %v", ok, err)
	}
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if _, err := f.Write(tg, "v1", []byte("s3cret"), exp); err != nil {
		t.Fatal(err)
	}
	rec, ok, stale, err := f.Current(tg)
	if err != nil || !ok || stale != "" || rec.Version != "v1" || !rec.NotAfter.Equal(exp) {
		t.Fatalf("Current = %+v ok %v stale %q err %v", rec, ok, stale, err)
	}
	fi, _ := os.Stat(tg.Path)
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode = %04o", fi.Mode().Perm())
	}
	// The record holds neither the value nor the path's content.
	entries, _ := os.ReadDir(filepath.Dir(f.recordPath(tg)))
	if len(entries) != 1 {
		t.Fatalf("records = %v", entries)
	}
	data, _ := os.ReadFile(f.recordPath(tg))
	if strings.Contains(string(data), "s3cret") {
		t.Error("the record holds the value")
	}
	if fi, _ := os.Stat(f.recordPath(tg)); fi.Mode().Perm() != 0o600 {
		t.Errorf("record mode = %04o", fi.Mode().Perm())
	}
}

func TestCurrentSaysWhyTheFileIsStale(t *testing.T) {
	cases := []struct {
		name   string
		change func(t *testing.T, tg *Target)
		want   string
	}{
		{"removed", func(t *testing.T, tg *Target) { _ = os.Remove(tg.Path) }, "missing"},
		{"edited", func(t *testing.T, tg *Target) {
			if err := os.WriteFile(tg.Path, []byte("edited by hand"), 0o640); err != nil {
				t.Fatal(err)
			}
		}, "changed or replaced outside akvvm"},
		{"mode in the settings", func(t *testing.T, tg *Target) { tg.Mode = 0o600 }, "mode is 0640, the settings ask for 0600"},
		{"group in the settings", func(t *testing.T, tg *Target) { tg.Group = "65534" }, "gid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tg, f := newTarget(t)
			if _, err := f.Write(tg, "v1", []byte("x"), time.Time{}); err != nil {
				t.Fatal(err)
			}
			tc.change(t, &tg)
			_, ok, stale, err := f.Current(tg)
			if err != nil || !ok || !strings.Contains(stale, tc.want) {
				t.Fatalf("Current = ok %v stale %q err %v; want %q", ok, stale, err, tc.want)
			}
		})
	}
}

func TestWriteGivesTheFileItsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root may give a file away")
	}
	tg, f := newTarget(t)
	tg.Owner, tg.Group = "nobody", "65534"
	if _, err := f.Write(tg, "v1", []byte("x"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(tg.Path)
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != 65534 || st.Gid != 65534 {
		t.Errorf("owner = %d:%d, want 65534:65534", st.Uid, st.Gid)
	}
	if _, _, stale, err := f.Current(tg); stale != "" || err != nil {
		t.Errorf("Current after the write: stale %q, %v", stale, err)
	}
}

func TestUnknownOwnerIsNamed(t *testing.T) {
	tg, f := newTarget(t)
	tg.Owner = "no-such-user-akvvm"
	_, err := f.Write(tg, "v1", []byte("x"), time.Time{})
	if err == nil || !strings.Contains(err.Error(), `owner "no-such-user-akvvm"`) || !strings.Contains(err.Error(), tg.Path) {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Lstat(tg.Path); err == nil {
		t.Error("the file was written for an unknown owner")
	}
}
