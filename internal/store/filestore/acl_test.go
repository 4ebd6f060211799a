package filestore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/akvvm/akvvm/internal/store"
)

// fakeACL records setfacl calls.
type fakeACL struct {
	mu    sync.Mutex
	calls [][]string
}

func (f *fakeACL) Setfacl(_ context.Context, args ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, args)
	return nil
}

func (f *fakeACL) take() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

func recordingACL(t *testing.T) *fakeACL {
	t.Helper()
	return &fakeACL{}
}

// fakeIDs resolves names from fixed tables.
type fakeIDs struct{ users, groups map[string]string }

func (f fakeIDs) UserID(name string) (string, error) {
	if id, ok := f.users[name]; ok {
		return id, nil
	}
	return "", errors.New("unknown user " + name)
}

func (f fakeIDs) GroupID(name string) (string, error) {
	if id, ok := f.groups[name]; ok {
		return id, nil
	}
	return "", errors.New("unknown group " + name)
}

var testIDs = fakeIDs{
	users:  map[string]string{"alice": "1001", "bob": "1002"},
	groups: map[string]string{"certs": "2000"},
}

func TestACLSetfaclArguments(t *testing.T) {
	s, dir, _ := newTestStore(t)
	run := recordingACL(t)
	s.acl = aclApplier{run: run, resolve: testIDs}
	file := filepath.Join(dir, "exampleVault.myCertificate.v1")
	c := newCert(t, testRef, "v1", ecKey, 0)

	steps := []struct {
		name string
		acls []store.ACL
		want [][]string
	}{
		{
			name: "first install grants read on the file and search on the directory",
			acls: []store.ACL{{User: "alice"}, {Group: "certs"}, {User: "bob", Group: "certs"}},
			want: [][]string{
				{"-m", "g:2000:r--,u:1001:r--,u:1002:r--", "--", file},
				{"-m", "g:2000:--x,u:1001:--x,u:1002:--x", "--", dir},
			},
		},
		{
			name: "unchanged install runs nothing",
			acls: []store.ACL{{User: "bob"}, {User: "alice", Group: "certs"}},
		},
		{
			name: "fewer grants run nothing",
			acls: []store.ACL{{User: "alice"}},
		},
		{
			name: "grants applied before run nothing",
			acls: []store.ACL{{User: "alice"}, {User: "bob"}, {Group: "certs"}},
			want: nil,
		},
		{
			name: "no acls runs nothing",
		},
	}
	for _, st := range steps {
		mustInstall(t, s, store.Target{Location: dir, ACLs: st.acls}, c)
		if got := tempAsFile(run.take(), dir, file); !reflect.DeepEqual(got, st.want) {
			t.Errorf("%s: setfacl calls = %q, want %q", st.name, got, st.want)
		}
	}

	// A grant not applied before is applied, even for an installed version.
	s.acl.resolve = fakeIDs{users: map[string]string{"alice": "1001", "carol": "1003"}, groups: testIDs.groups}
	mustInstall(t, s, store.Target{Location: dir, ACLs: []store.ACL{{User: "carol"}}}, c)
	want := [][]string{{"-m", "u:1003:r--", "--", file}, {"-m", "u:1003:--x", "--", dir}}
	if got := run.take(); !reflect.DeepEqual(got, want) {
		t.Errorf("new grant: setfacl calls = %q, want %q", got, want)
	}
}

// tempAsFile replaces the temp file a new version is written to (and gets
// its ACLs as) by the version file it becomes.
func tempAsFile(calls [][]string, dir, file string) [][]string {
	for _, c := range calls {
		for i, a := range c {
			if filepath.Dir(a) == dir && strings.HasPrefix(filepath.Base(a), tempPrefix) {
				c[i] = file
			}
		}
	}
	return calls
}

func TestACLUnknownNamesAreReported(t *testing.T) {
	s, dir, _ := newTestStore(t)
	run := recordingACL(t)
	s.acl = aclApplier{run: run, resolve: testIDs}
	acls := []store.ACL{{User: "alice"}, {User: "mallory"}, {Group: "nosuchgroup"}}
	_, err := s.Install(t.Context(), store.Target{Location: dir, ACLs: acls}, newCert(t, testRef, "v1", ecKey, 0))
	if err == nil {
		t.Fatal("Install with unknown users succeeded")
	}
	for _, want := range []string{`user "mallory"`, `group "nosuchgroup"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if calls := run.take(); len(calls) != 0 {
		t.Errorf("setfacl ran %q although a name is unknown", calls)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != lockFileName && e.Name() != recordsDirName {
			t.Errorf("failed install left %s behind", e.Name())
		}
	}
}
