package filestore

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/store"
)

// Every operation on one certificate reads only that certificate's record:
// with many certificates in the directory, a damaged record of another one
// changes nothing for it.
func TestOperationsReadOnlyTheirOwnRecord(t *testing.T) {
	s, dir, _ := newTestStore(t)
	target := store.Target{Location: dir}
	const n = 40
	refs := make([]store.Ref, n)
	for i := range refs {
		refs[i] = store.Ref{Vault: "exampleVault", Name: fmt.Sprintf("cert%d", i)}
		mustInstall(t, s, target, newCert(t, refs[i], "v1", ecKey, 0))
	}
	damaged := refs[7]
	if err := os.WriteFile(filepath.Join(dir, recordsDirName, recordFileName(damaged)), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	ref := refs[3]
	mustInstall(t, s, target, newCert(t, ref, "v2", ecKey, 0))
	if _, err := s.MakeCurrent(t.Context(), target, ref, "v1"); err != nil {
		t.Fatal(err)
	}
	mustInstall(t, s, target, newCert(t, ref, "v3", ecKey, 0))
	if _, err := s.Delete(t.Context(), target, ref, []string{"v1"}); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(t.Context(), target, ref)
	if err != nil || !slices.Equal(versions(list), []string{"v3", "v2"}) {
		t.Fatalf("List = %v, %v; want [v3 v2]", versions(list), err)
	}
	if err := s.Recover(t.Context(), []store.Target{target}); err != nil {
		t.Fatalf("Recover with a damaged record nobody needs: %v", err)
	}
	if _, err := s.Remove(t.Context(), target, ref); err != nil {
		t.Fatal(err)
	}
	_, err = s.List(t.Context(), target, damaged)
	if err == nil || !strings.Contains(err.Error(), "is damaged") || !strings.Contains(err.Error(), "move it away") {
		t.Errorf("List of the damaged certificate = %v, want the damaged record named with what to do", err)
	}
}

func TestRecordsDirectoryMustBeADirectory(t *testing.T) {
	for _, kind := range []string{"symlink", "file"} {
		t.Run(kind, func(t *testing.T) {
			s, dir, _ := newTestStore(t)
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, recordsDirName)
			if kind == "symlink" {
				symlink(t, t.TempDir(), p)
			} else {
				writeFile(t, p, "x")
			}
			target := store.Target{Location: dir}
			for name, err := range map[string]error{
				"Install": func() error {
					_, err := s.Install(t.Context(), target, newCert(t, testRef, "v1", ecKey, 0))
					return err
				}(),
				"List":    func() error { _, err := s.List(t.Context(), target, testRef); return err }(),
				"Recover": s.Recover(t.Context(), []store.Target{target}),
			} {
				if err == nil || !strings.Contains(err.Error(), "not a directory") {
					t.Errorf("%s with a %s as the records directory = %v, want a refusal", name, kind, err)
				}
			}
		})
	}
}

func TestDamagedRecordIsReported(t *testing.T) {
	s, dir, _ := newTestStore(t)
	target := store.Target{Location: dir}
	mustInstall(t, s, target, newCert(t, testRef, "v1", ecKey, 0))
	path := filepath.Join(dir, recordsDirName, recordFileName(testRef))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"other certificate": strings.Replace(string(data), `"name": "myCertificate"`, `"name": "other"`, 1),
		"file outside":      strings.Replace(string(data), `"file": "exampleVault.myCertificate.v1"`, `"file": "../x"`, 1),
		"foreign temp":      strings.Replace(string(data), `"pending": ".akvvm-tmp-`, `"pending": "../.akvvm-tmp-`, 1),
		"format":            strings.Replace(string(data), `"format": 2`, `"format": 4`, 1),
	} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := s.List(t.Context(), target, testRef); err == nil || !strings.Contains(err.Error(), "is damaged") {
			t.Errorf("%s: List = %v, want the record reported damaged", name, err)
		}
		if _, err := s.Remove(t.Context(), target, testRef); err == nil {
			t.Errorf("%s: Remove with a damaged record succeeded", name)
		}
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Remove(t.Context(), target, testRef); err != nil {
		t.Fatal(err)
	}
}
