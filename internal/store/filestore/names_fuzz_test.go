package filestore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/store"
)

// TestOwnFilesAreReserved checks that every name akvvm gives its own files
// starts with store.ReservedPrefix, so no link name the rules accept can
// be one of them.
func TestOwnFilesAreReserved(t *testing.T) {
	for _, name := range []string{stateFileName, lockFileName, recordsDirName, tempPrefix, tempLinkPrefix, tempPrefix + tempTag(testRef) + "-1"} {
		if !strings.HasPrefix(name, store.ReservedPrefix) {
			t.Errorf("%q does not start with %q", name, store.ReservedPrefix)
		}
		if err := store.CheckLinkName(name); err == nil {
			t.Errorf("CheckLinkName(%q) accepted one of akvvm's own names", name)
		}
	}
}

// FuzzLinkName checks that every name store.CheckLinkName accepts is
// installed as the link by the directory store: the link lands in the
// store directory under exactly that name, and nothing is written outside.
func FuzzLinkName(f *testing.F) {
	for _, seed := range []string{
		"web.pem", "app1Cert1", "zertifikat-ä", ".hidden", "..a", "a..", "-", " ", "a b",
		".akvvm", ".akvvm-records", ".akvvm.lock", ".Akvvm", "a/b", `a\b`, "..", ".", "",
		"a\nb", "a\tb", "a\x7fb", "a\u0085b", "cert\u202Egpj.pem", "a\u2066b", "a\u200eb", "a\u061cb",
		"ab\xffc", "\xc3", "\ufffd", strings.Repeat("a", 255), strings.Repeat("a", 256), strings.Repeat("ä", 128),
	} {
		f.Add(seed)
	}
	c := newCert(f, testRef, "0123456789abcdef0123456789abcdef", ecKey, 0)
	version := versionFileName(testRef, c.Version)
	s := New(Options{Logger: discard()})
	f.Fuzz(func(t *testing.T, name string) {
		if store.CheckLinkName(name) != nil {
			return
		}
		if strings.HasPrefix(name, store.ReservedPrefix) {
			t.Fatalf("CheckLinkName accepted %q, which starts with %q", name, store.ReservedPrefix)
		}
		if name == version {
			return // refused at install: the link would replace the version file
		}
		parent := t.TempDir()
		dir := filepath.Join(parent, "store")
		link := filepath.Join(dir, name)
		if filepath.Dir(link) != dir || filepath.Base(link) != name {
			t.Fatalf("%q joined to %s is %s, not a file directly inside it", name, dir, link)
		}
		if _, err := s.Install(t.Context(), store.Target{Location: dir, LinkName: name}, c); err != nil {
			t.Fatalf("Install with link name %q: %v", name, err)
		}
		fi, err := os.Lstat(link)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("link %q: %v, mode %v; want a symbolic link", link, err, fi)
		}
		if target, err := os.Readlink(link); err != nil || target != filepath.Join(dir, version) {
			t.Fatalf("link %q points to %q (%v), want the version file in %s", link, target, err, dir)
		}
		entries, err := os.ReadDir(parent)
		if err != nil || len(entries) != 1 || entries[0].Name() != "store" {
			t.Fatalf("outside the store directory: %v (%v), want only store", entries, err)
		}
		found := false
		entries, err = os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			found = found || e.Name() == name
			if e.Name() != name && e.Name() != version && !strings.HasPrefix(e.Name(), store.ReservedPrefix) {
				t.Errorf("unexpected file %q in the store directory", e.Name())
			}
		}
		if !found {
			t.Errorf("no entry %q in the store directory", name)
		}
	})
}
