package winstore

import (
	"context"
	"slices"
	"testing"

	"github.com/akvvm/akvvm/internal/store"
)

// Remove takes every version akvvm installed of one certificate from its
// store, leaves the shared intermediate, foreign certificates and other
// certificates akvvm installed, and does nothing the second time.
func TestRemoveTakesOnlyAkvvmsVersionsOfOneCertificate(t *testing.T) {
	for _, tg := range []store.Target{{Location: "CurrentUser", StoreName: "MY"}, {Location: "LocalMachine", StoreName: "TrustedPeople"}} {
		t.Run(tg.Location+"-"+tg.StoreName, func(t *testing.T) {
			s := New(Options{})
			ca := newTestCA(t)
			ref := uniqueRef(t)
			other := store.Ref{Vault: ref.Vault, Name: ref.Name + "-other"}
			cleanup(t, s, tg, ref, ca)
			cleanup(t, s, tg, other, nil)
			lookalike := ca.leaf(t, ref, version(7), "foreign.example.test").Leaf
			addForeign(t, tg.Location, tg.StoreName, lookalike, ref.Vault+"/"+ref.Name+"/"+version(7), "installed by hand")
			ctx := context.Background()
			var ours []store.Certificate
			for i := 1; i <= 2; i++ {
				c := ca.leaf(t, ref, version(i), "ours.example.test")
				ours = append(ours, c)
				if _, err := s.Install(ctx, tg, c); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.Install(ctx, tg, ca.leaf(t, other, version(1), "other.example.test")); err != nil {
				t.Fatal(err)
			}

			removed, err := s.Remove(ctx, tg, ref)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, in := range removed {
				got = append(got, in.Version)
			}
			if want := []string{version(2), version(1)}; !slices.Equal(got, want) {
				t.Errorf("Remove returned %v, want %v", got, want)
			}
			if back := readBack(t, tg, ref); len(back) != 0 {
				t.Errorf("a new process still sees %+v", back)
			}
			for _, c := range ours {
				if ok, _ := findCert(t, tg.Location, tg.StoreName, c.Leaf, 0); ok {
					t.Errorf("version %s is still in the store", c.Version)
				}
			}
			if ok, _ := findCert(t, tg.Location, tg.StoreName, lookalike, 0); !ok {
				t.Error("the foreign certificate was removed")
			}
			if ok, _ := findCert(t, tg.Location, "CA", ca.inter, 0); !ok {
				t.Error("the shared intermediate was removed from CA")
			}
			if back := readBack(t, tg, other); len(back) != 1 {
				t.Errorf("the other certificate akvvm installed: a new process sees %+v, want its version", back)
			}

			again, err := s.Remove(ctx, tg, ref)
			if err != nil || len(again) != 0 {
				t.Errorf("second Remove = %+v, %v; want nothing removed and no error", again, err)
			}
		})
	}
}

// On Windows the removed versions' keys go with them.
func TestRemoveDeletesTheKeys(t *testing.T) {
	skipOnWine(t, "keys are CAPI only, in one shared container per user, and are kept")
	tg := store.Target{Location: "CurrentUser", StoreName: "MY"}
	s := New(Options{})
	ca := newTestCA(t)
	ref := uniqueRef(t)
	cleanup(t, s, tg, ref, ca)
	c := ca.leaf(t, ref, version(1), "key.example.test")
	if _, err := s.Install(context.Background(), tg, c); err != nil {
		t.Fatal(err)
	}
	k := leafKey(t, tg, c)
	if _, err := s.Remove(context.Background(), tg, ref); err != nil {
		t.Fatal(err)
	}
	if err := deleteKey(k); err == nil {
		t.Fatal("the removed version's key was still there")
	}
}
