package winstore

import (
	"context"
	"slices"
	"testing"

	"github.com/akvvm/akvvm/internal/store"
)

// Owned names the certificates akvvm installed in a store, not those it
// installed in another store nor foreign ones, and a removed one no more.
func TestOwnedNamesAkvvmsCertificatesOfOneStore(t *testing.T) {
	s := New(Options{})
	tg := store.Target{Location: "CurrentUser", StoreName: "MY"}
	elsewhere := store.Target{Location: "CurrentUser", StoreName: "TrustedPeople"}
	ca := newTestCA(t)
	ref := uniqueRef(t)
	other := store.Ref{Vault: ref.Vault, Name: ref.Name + "-other"}
	apart := store.Ref{Vault: ref.Vault, Name: ref.Name + "-apart"}
	foreign := store.Ref{Vault: ref.Vault, Name: ref.Name + "-foreign"}
	cleanup(t, s, tg, ref, ca)
	cleanup(t, s, tg, other, nil)
	cleanup(t, s, elsewhere, apart, nil)
	addForeign(t, tg.Location, tg.StoreName, ca.leaf(t, foreign, version(1), "foreign.example.test").Leaf,
		foreign.Vault+"/"+foreign.Name+"/"+version(1), "installed by hand")
	ctx := context.Background()
	for _, in := range []struct {
		t   store.Target
		ref store.Ref
	}{{tg, ref}, {tg, other}, {elsewhere, apart}} {
		if _, err := s.Install(ctx, in.t, ca.leaf(t, in.ref, version(1), "ours.example.test")); err != nil {
			t.Fatal(err)
		}
	}
	refs, err := s.Owned(ctx, tg)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(refs, ref) || !slices.Contains(refs, other) {
		t.Errorf("Owned = %v, want %v and %v among them", refs, ref, other)
	}
	if slices.Contains(refs, apart) || slices.Contains(refs, foreign) {
		t.Errorf("Owned = %v names a certificate of another store or a foreign one", refs)
	}
	if _, err := s.Remove(ctx, tg, other); err != nil {
		t.Fatal(err)
	}
	if refs, err := s.Owned(ctx, tg); err != nil || slices.Contains(refs, other) {
		t.Errorf("Owned after Remove = %v, %v", refs, err)
	}
}
