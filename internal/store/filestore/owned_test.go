package filestore

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/akvvm/akvvm/internal/store"
)

// Owned names every certificate akvvm recorded in a directory, also one
// installed with another link name, and nothing for foreign files or a
// directory that does not exist; after Remove the certificate is gone.
func TestOwnedNamesEveryRecordedCertificate(t *testing.T) {
	s, dir, _ := newTestStore(t)
	target := store.Target{Location: dir}
	other := store.Ref{Vault: "exampleVault", Name: "other"}
	mustInstall(t, s, target, newCert(t, testRef, "v1", ecKey, 0))
	mustInstall(t, s, store.Target{Location: dir, LinkName: "web.pem"}, newCert(t, other, "v1", ecKey, 0))
	writeForeign(t, dir, "app.pem")
	writeForeign(t, dir, "exampleVault.third.v1")

	refs, err := s.Owned(t.Context(), store.Target{Location: dir})
	if err != nil {
		t.Fatal(err)
	}
	key := func(r store.Ref) string { return r.Vault + "/" + r.Name }
	var got []string
	for _, r := range refs {
		got = append(got, key(r))
	}
	slices.Sort(got)
	want := []string{key(testRef), key(other)}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Owned = %v, want %v", got, want)
	}
	// Removing through what Owned named, with a target lacking the link
	// name, takes the custom link too: the record knows it.
	for _, r := range refs {
		if _, err := s.Remove(t.Context(), store.Target{Location: dir}, r); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := names(t, dir), []string{"app.pem", "exampleVault.third.v1"}; !slices.Equal(got, want) {
		t.Errorf("after removing what Owned named the directory holds %v, want %v", got, want)
	}
	if refs, err := s.Owned(t.Context(), store.Target{Location: filepath.Join(dir, "missing")}); err != nil || len(refs) != 0 {
		t.Errorf("Owned of a missing directory = %v, %v", refs, err)
	}
}
