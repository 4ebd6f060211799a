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

// linkNameSeeds are the link names both tests below start from.
var linkNameSeeds = []string{
	"web.pem", "app1Cert1", "zertifikat-ä", ".hidden", "..a", "a..", "-", " ", "a b",
	".akvvm", ".akvvm-records", ".akvvm.lock", ".Akvvm", "a/b", `a\b`, "..", ".", "",
	"a\nb", "a\tb", "a\x7fb", "a\u0085b", "cert\u202Egpj.pem", "a\u2066b", "a\u200eb", "a\u061cb",
	"ab\xffc", "\xc3", "\ufffd", strings.Repeat("a", 255), strings.Repeat("a", 256), strings.Repeat("ä", 128),
}

// TestInstallTakesEveryAcceptedLinkName installs a certificate under each
// seed name store.CheckLinkName accepts and refuses the others with the
// same message: what validates installs.
func TestInstallTakesEveryAcceptedLinkName(t *testing.T) {
	c := newCert(t, testRef, "0123456789abcdef0123456789abcdef", ecKey, 0)
	s := New(Options{Logger: discard()})
	dir := filepath.Join(t.TempDir(), "store")
	for _, name := range linkNameSeeds {
		if name == "" {
			continue // no customSymbolicLinkName: the default <vault>.<name>
		}
		_, err := s.Install(t.Context(), store.Target{Location: dir, LinkName: name}, c)
		rule := store.CheckLinkName(name)
		switch {
		case rule == nil && err != nil:
			t.Errorf("Install with link name %q, which the rules accept: %v", name, err)
		case rule != nil && (err == nil || !strings.Contains(err.Error(), rule.(*store.NameError).Message())):
			t.Errorf("Install with link name %q = %v, want the rule's refusal %q", name, err, rule)
		case rule == nil:
			if target, err := os.Readlink(filepath.Join(dir, name)); err != nil || target != filepath.Join(dir, versionFileName(testRef, c.Version)) {
				t.Errorf("link %q points to %q (%v), want the version file", name, target, err)
			}
		}
	}
}

// FuzzLinkName checks that every name store.CheckLinkName accepts is a
// link the directory store can make with its own link swap: it lands in
// the store directory under exactly that name, and nothing appears
// outside. (Install itself is checked with the seeds above; per input it
// would cost a lock, a record and several renames.)
func FuzzLinkName(f *testing.F) {
	for _, seed := range linkNameSeeds {
		f.Add(seed)
	}
	parent := f.TempDir()
	dir := filepath.Join(parent, "store")
	if err := os.Mkdir(dir, 0o700); err != nil {
		f.Fatal(err)
	}
	version := versionFileName(testRef, "0123456789abcdef0123456789abcdef")
	if err := os.WriteFile(filepath.Join(dir, version), []byte("certificate"), 0o600); err != nil {
		f.Fatal(err)
	}
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
		link := filepath.Join(dir, name)
		if filepath.Dir(link) != dir || filepath.Base(link) != name {
			t.Fatalf("%q joined to %s is %s, not a file directly inside it", name, dir, link)
		}
		if err := swapLink(osFS{}, dir, name, filepath.Join(dir, version)); err != nil {
			t.Fatalf("making link %q: %v", name, err)
		}
		defer os.Remove(link)
		if target, err := os.Readlink(link); err != nil || target != filepath.Join(dir, version) {
			t.Fatalf("link %q points to %q (%v), want the version file in %s", link, target, err, dir)
		}
		entries, err := os.ReadDir(parent)
		if err != nil || len(entries) != 1 || entries[0].Name() != "store" {
			t.Fatalf("outside the store directory: %v (%v), want only store", entries, err)
		}
		if entries, err = os.ReadDir(dir); err != nil || len(entries) != 2 {
			t.Fatalf("store directory holds %d entries (%v), want the version file and the link %q", len(entries), err, name)
		}
	})
}
