package filestore

import (
	"errors"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/store"
)

// TestACLWithRealSetfacl applies ACLs with the real setfacl and reads them
// back with getfacl.
func TestACLWithRealSetfacl(t *testing.T) {
	for _, tool := range []string{"setfacl", "getfacl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: install the acl package (apt-get install acl) to run this test", tool)
		}
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("user nobody not found: %v", err)
	}
	group, err := user.LookupGroupId(nobody.Gid)
	if err != nil {
		t.Skipf("group %s of nobody not found: %v", nobody.Gid, err)
	}

	s, dir, _ := newTestStore(t)
	target := store.Target{Location: dir, ACLs: []store.ACL{{User: "nobody", Group: group.Name}}}
	in, err := s.Install(t.Context(), target, newCert(t, testRef, "v1", ecKey, 0))
	if err != nil && strings.Contains(err.Error(), "Operation not supported") {
		t.Skipf("the file system of %s does not support POSIX ACLs: %v", dir, err)
	}
	if err != nil {
		t.Fatal(err)
	}

	getfacl := func(path string) string {
		t.Helper()
		out, err := exec.Command("getfacl", "--numeric", "--omit-header", "--absolute-names", path).CombinedOutput()
		if err != nil {
			t.Fatalf("getfacl %s: %v: %s", path, err, out)
		}
		return string(out)
	}
	fileACL := getfacl(in.Location)
	for _, want := range []string{"user:" + nobody.Uid + ":r--", "group:" + nobody.Gid + ":r--"} {
		if !strings.Contains(fileACL, want) {
			t.Errorf("file ACL lacks %q:\n%s", want, fileACL)
		}
	}
	if !strings.Contains(fileACL, "other::---") {
		t.Errorf("file ACL grants others access:\n%s", fileACL)
	}
	dirACL := getfacl(dir)
	for _, want := range []string{"user:" + nobody.Uid + ":--x", "group:" + nobody.Gid + ":--x"} {
		if !strings.Contains(dirACL, want) {
			t.Errorf("directory ACL lacks %q:\n%s", want, dirACL)
		}
	}
	// Reading through the link resolves to the same file and ACL.
	if linked := getfacl(filepath.Join(dir, "exampleVault.myCertificate")); linked != fileACL {
		t.Errorf("ACL read through the link differs from the version file's")
	}
}

func TestSetfaclMissingSaysWhatToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := execSetfacl{}.Setfacl(t.Context(), "-m", "u:0:r--", "--", "/nonexistent")
	if !errors.Is(err, errNoSetfacl) || !strings.Contains(err.Error(), "install the acl package") {
		t.Errorf("error = %v, want one telling to install the acl package", err)
	}
}

func TestSetfaclFailureCarriesItsOutput(t *testing.T) {
	if _, err := exec.LookPath("setfacl"); err != nil {
		t.Skip("setfacl not found: install the acl package (apt-get install acl) to run this test")
	}
	missing := filepath.Join(t.TempDir(), "missing")
	err := execSetfacl{}.Setfacl(t.Context(), "-m", "u:0:r--", "--", missing)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("error = %v, want setfacl's message naming %s", err, missing)
	}
}
