package winstore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/store"
)

// installVersions installs versions 1..n of ref at tg and returns them.
// withVersions installs n versions of a new certificate at tg and removes
// them, and the test CA's intermediate, when the test ends.
func withVersions(t *testing.T, tg store.Target, n int) (*Store, *testCA, store.Ref, []store.Certificate) {
	t.Helper()
	s := New(Options{})
	ca := newTestCA(t)
	ref := uniqueRef(t)
	cleanup(t, s, tg, ref, ca)
	return s, ca, ref, installVersions(t, s, tg, ca, ref, n)
}

func installVersions(t *testing.T, s *Store, tg store.Target, ca *testCA, ref store.Ref, n int) []store.Certificate {
	t.Helper()
	var certs []store.Certificate
	for i := 1; i <= n; i++ {
		c := ca.leaf(t, ref, version(i), "converge.example.test")
		if _, err := s.Install(context.Background(), tg, c); err != nil {
			t.Fatalf("install version %d: %v", i, err)
		}
		certs = append(certs, c)
	}
	return certs
}

// want is one version as a new process must see it: in order, the
// renewal link's target ("" for none), and which one is current.
type want struct {
	version int
	renewal string
}

// checkBack reads ref back in a new process and compares versions in
// List's order (the first current) and their renewal links.
func checkBack(t *testing.T, tg store.Target, ref store.Ref, ws ...want) {
	t.Helper()
	back := readBack(t, tg, ref)
	if len(back) != len(ws) {
		t.Fatalf("a new process sees %+v, want %d versions", back, len(ws))
	}
	for i, w := range ws {
		b := back[i]
		if b.Version != version(w.version) || b.Renewal != w.renewal || b.Current != (i == 0) {
			t.Errorf("entry %d: a new process sees version %s renewal %q current %v; want version %s renewal %q current %v",
				i, b.Version, b.Renewal, b.Current, version(w.version), w.renewal, i == 0)
		}
	}
}

// listed returns List's versions as numbers and which one is current.
func listed(t *testing.T, s *Store, tg store.Target, ref store.Ref) string {
	t.Helper()
	l, err := s.List(context.Background(), tg, ref)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, in := range l {
		v := in.Version[len(in.Version)-1:]
		if in.Current {
			v += "*"
		}
		out = append(out, v)
	}
	return strings.Join(out, " ")
}

func TestMakeCurrentBackwardsThenForwards(t *testing.T) {
	tg := store.Target{Location: "LocalMachine", StoreName: "MY", LinkOnRenewal: true}
	s := New(Options{})
	ca := newTestCA(t)
	ref := uniqueRef(t)
	cleanup(t, s, tg, ref, ca)
	ctx := context.Background()
	c := installVersions(t, s, tg, ca, ref, 3)
	th := func(i int) string { return thumbprint(c[i-1].Leaf.Raw) }
	checkBack(t, tg, ref, want{3, ""}, want{2, th(3)}, want{1, th(2)})

	// Version 3 withdrawn: 2 is current again, 3 renews to 2, 2's link to 3 is gone.
	in, err := s.MakeCurrent(ctx, tg, ref, version(2))
	if err != nil {
		t.Fatal(err)
	}
	if in.Version != version(2) || !in.Current || in.Thumbprint != th(2) {
		t.Fatalf("MakeCurrent returned %+v", in)
	}
	if got := listed(t, s, tg, ref); got != "2* 3 1" {
		t.Fatalf("List after going back: %s, want 2* 3 1", got)
	}
	checkBack(t, tg, ref, want{2, ""}, want{3, th(2)}, want{1, th(2)})

	// Version 3 back in the vault: forwards again.
	if _, err := s.MakeCurrent(ctx, tg, ref, version(3)); err != nil {
		t.Fatal(err)
	}
	if got := listed(t, s, tg, ref); got != "3* 2 1" {
		t.Fatalf("List after going forwards: %s, want 3* 2 1", got)
	}
	checkBack(t, tg, ref, want{3, ""}, want{2, th(3)}, want{1, th(2)})

	// Two steps back, to the oldest.
	if _, err := s.MakeCurrent(ctx, tg, ref, version(1)); err != nil {
		t.Fatal(err)
	}
	if got := listed(t, s, tg, ref); got != "1* 3 2" {
		t.Fatalf("List after going back to 1: %s, want 1* 3 2", got)
	}
	checkBack(t, tg, ref, want{1, ""}, want{3, th(1)}, want{2, th(3)})
}

func TestMakeCurrentOfTheCurrentVersionChangesNothing(t *testing.T) {
	tg := store.Target{Location: "CurrentUser", StoreName: "MY", LinkOnRenewal: true}
	s, _, ref, c := withVersions(t, tg, 2)
	_, before := findCert(t, tg.Location, tg.StoreName, c[1].Leaf, propDescription)
	in, err := s.MakeCurrent(context.Background(), tg, ref, version(2))
	if err != nil || in.Version != version(2) || !in.Current {
		t.Fatalf("MakeCurrent of the current version = %+v, %v", in, err)
	}
	if _, after := findCert(t, tg.Location, tg.StoreName, c[1].Leaf, propDescription); utf16Prop(after) != utf16Prop(before) {
		t.Errorf("marker changed from %q to %q", utf16Prop(before), utf16Prop(after))
	}
	checkBack(t, tg, ref, want{2, ""}, want{1, thumbprint(c[1].Leaf.Raw)})
}

func TestMakeCurrentWithoutLinkOnRenewalSetsNoLink(t *testing.T) {
	tg := store.Target{Location: "CurrentUser", StoreName: "TrustedPeople"}
	s := New(Options{})
	ca := newTestCA(t)
	ref := uniqueRef(t)
	cleanup(t, s, tg, ref, ca)
	installVersions(t, s, tg, ca, ref, 2)
	if _, err := s.MakeCurrent(context.Background(), tg, ref, version(1)); err != nil {
		t.Fatal(err)
	}
	checkBack(t, tg, ref, want{1, ""}, want{2, ""})
}

func TestMakeCurrentRefusesAVersionAkvvmDidNotInstallThere(t *testing.T) {
	tg := store.Target{Location: "LocalMachine", StoreName: "MY", LinkOnRenewal: true}
	elsewhere := store.Target{Location: "CurrentUser", StoreName: "MY", LinkOnRenewal: true}
	s := New(Options{})
	ca := newTestCA(t)
	ref := uniqueRef(t)
	cleanup(t, s, tg, ref, ca)
	cleanup(t, s, elsewhere, ref, ca)
	c := installVersions(t, s, tg, ca, ref, 1)
	if _, err := s.Install(context.Background(), elsewhere, ca.leaf(t, ref, version(2), "converge.example.test")); err != nil {
		t.Fatal(err)
	}
	// A certificate in the store that only looks like version 3.
	addForeign(t, tg.Location, tg.StoreName, ca.leaf(t, ref, version(3), "converge.example.test").Leaf, ref.Vault+"/"+ref.Name+"/"+version(3), "installed by hand")
	for _, v := range []string{version(2), version(3), "nosuchversion"} {
		_, err := s.MakeCurrent(context.Background(), tg, ref, v)
		if err == nil || !strings.Contains(err.Error(), v) || !strings.Contains(err.Error(), "not installed by akvvm") || !strings.Contains(err.Error(), "install it") {
			t.Errorf("MakeCurrent(%s) = %v; want an error naming the version and what to do", v, err)
		}
	}
	checkBack(t, tg, ref, want{1, ""})
	if ok, renewal := findCert(t, tg.Location, tg.StoreName, c[0].Leaf, propRenewal); !ok || renewal != nil {
		t.Errorf("version 1: found %v, renewal link %x", ok, renewal)
	}
}

// A failure at any step of MakeCurrent leaves the marker and both renewal
// links as they were, as a new process sees them.
func TestMakeCurrentFailureLeavesThePreviousState(t *testing.T) {
	for _, step := range []string{"link", "unlink", "marker"} {
		t.Run(step, func(t *testing.T) {
			tg := store.Target{Location: "LocalMachine", StoreName: "MY", LinkOnRenewal: true}
			s := New(Options{})
			ca := newTestCA(t)
			ref := uniqueRef(t)
			cleanup(t, s, tg, ref, ca)
			c := installVersions(t, s, tg, ca, ref, 2)
			_, before := findCert(t, tg.Location, tg.StoreName, c[0].Leaf, propDescription)
			injected := errors.New("injected failure")
			s.fault = func(name string) error {
				if name == step {
					return injected
				}
				return nil
			}
			_, err := s.MakeCurrent(context.Background(), tg, ref, version(1))
			if !errors.Is(err, injected) || !strings.Contains(err.Error(), "the store is as it was") {
				t.Fatalf("MakeCurrent = %v; want the injected failure, undone", err)
			}
			if got := listed(t, s, tg, ref); got != "2* 1" {
				t.Errorf("List after the failure: %s, want 2* 1", got)
			}
			checkBack(t, tg, ref, want{2, ""}, want{1, thumbprint(c[1].Leaf.Raw)})
			if _, after := findCert(t, tg.Location, tg.StoreName, c[0].Leaf, propDescription); utf16Prop(after) != utf16Prop(before) {
				t.Errorf("marker changed from %q to %q", utf16Prop(before), utf16Prop(after))
			}
			s.fault = nil
			if _, err := s.MakeCurrent(context.Background(), tg, ref, version(1)); err != nil {
				t.Fatalf("MakeCurrent after the failure: %v", err)
			}
			checkBack(t, tg, ref, want{1, ""}, want{2, thumbprint(c[0].Leaf.Raw)})
		})
	}
}

// After a version was made current again, a new install links from it,
// not from the newest installed version.
func TestInstallLinksFromTheCurrentVersion(t *testing.T) {
	tg := store.Target{Location: "LocalMachine", StoreName: "MY", LinkOnRenewal: true}
	s, ca, ref, c := withVersions(t, tg, 2)
	ctx := context.Background()
	if _, err := s.MakeCurrent(ctx, tg, ref, version(1)); err != nil {
		t.Fatal(err)
	}
	c3 := ca.leaf(t, ref, version(3), "converge.example.test")
	in, err := s.Install(ctx, tg, c3)
	if err != nil {
		t.Fatal(err)
	}
	if !in.Current {
		t.Errorf("Install returned %+v, want it current", in)
	}
	if got := listed(t, s, tg, ref); got != "3* 2 1" {
		t.Fatalf("List: %s, want 3* 2 1", got)
	}
	checkBack(t, tg, ref, want{3, ""}, want{2, thumbprint(c[0].Leaf.Raw)}, want{1, thumbprint(c3.Leaf.Raw)})
}

// Installing a version that is already installed makes it current, as
// store.Store says.
func TestInstallOfAnInstalledVersionMakesItCurrent(t *testing.T) {
	tg := store.Target{Location: "CurrentUser", StoreName: "MY", LinkOnRenewal: true}
	s, _, ref, c := withVersions(t, tg, 2)
	in, err := s.Install(context.Background(), tg, c[0])
	if err != nil {
		t.Fatal(err)
	}
	if in.Version != version(1) || !in.Current {
		t.Fatalf("Install returned %+v", in)
	}
	checkBack(t, tg, ref, want{1, ""}, want{2, thumbprint(c[0].Leaf.Raw)})
}

func TestDeleteRefusesTheCurrentVersion(t *testing.T) {
	tg := store.Target{Location: "CurrentUser", StoreName: "MY", LinkOnRenewal: true}
	s, _, ref, c := withVersions(t, tg, 2)
	ctx := context.Background()
	for _, vs := range [][]string{{version(2)}, {version(1), version(2)}} {
		removed, err := s.Delete(ctx, tg, ref, vs)
		if err == nil || !strings.Contains(err.Error(), version(2)) || !strings.Contains(err.Error(), "current") || len(removed) != 0 {
			t.Errorf("Delete(%v) = %+v, %v; want nothing removed and an error naming the current version", vs, removed, err)
		}
	}
	checkBack(t, tg, ref, want{2, ""}, want{1, thumbprint(c[1].Leaf.Raw)})

	// Made current again, version 1 is refused and the withdrawn 2 can go.
	if _, err := s.MakeCurrent(ctx, tg, ref, version(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, tg, ref, []string{version(1)}); err == nil {
		t.Error("Delete removed version 1 after it was made current")
	}
	removed, err := s.Delete(ctx, tg, ref, []string{version(2)})
	if err != nil || len(removed) != 1 || removed[0].Version != version(2) {
		t.Fatalf("Delete of the withdrawn version = %+v, %v", removed, err)
	}
	checkBack(t, tg, ref, want{1, ""})
}

func TestDeleteRemovesExactlyTheListedVersions(t *testing.T) {
	tg := store.Target{Location: "LocalMachine", StoreName: "TrustedPeople", LinkOnRenewal: true}
	s := New(Options{})
	ca := newTestCA(t)
	ref := uniqueRef(t)
	other := store.Ref{Vault: ref.Vault, Name: ref.Name + "-other"}
	cleanup(t, s, tg, ref, ca)
	cleanup(t, s, tg, other, nil)
	c := installVersions(t, s, tg, ca, ref, 4)
	otherCerts := installVersions(t, s, tg, ca, other, 2)
	lookalike := ca.leaf(t, ref, version(5), "converge.example.test").Leaf
	addForeign(t, tg.Location, tg.StoreName, lookalike, ref.Vault+"/"+ref.Name+"/"+version(5), "installed by hand")
	ctx := context.Background()

	removed, err := s.Delete(ctx, tg, ref, []string{version(1), version(3), version(5), "nosuchversion"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, in := range removed {
		got = append(got, in.Version)
	}
	if w := []string{version(3), version(1)}; !slices.Equal(got, w) {
		t.Errorf("Delete removed %v, want %v", got, w)
	}
	for i, gone := range []bool{true, false, true, false} {
		if ok, _ := findCert(t, tg.Location, tg.StoreName, c[i].Leaf, 0); ok == gone {
			t.Errorf("version %d in the store: %v, want %v", i+1, ok, !gone)
		}
	}
	checkBack(t, tg, ref, want{4, ""}, want{2, thumbprint(c[2].Leaf.Raw)})
	checkBack(t, tg, other, want{2, ""}, want{1, thumbprint(otherCerts[1].Leaf.Raw)})
	if ok, _ := findCert(t, tg.Location, tg.StoreName, lookalike, 0); !ok {
		t.Error("the foreign certificate was removed")
	}
	if ok, _ := findCert(t, tg.Location, "CA", ca.inter, 0); !ok {
		t.Error("the shared intermediate was removed from CA")
	}
	again, err := s.Delete(ctx, tg, ref, []string{version(1), version(3)})
	if err != nil || len(again) != 0 {
		t.Errorf("second Delete = %+v, %v; want nothing and no error", again, err)
	}
}

// A version installed by an akvvm whose marker had no currentAt is still
// listed, and can be made current (its marker then gains currentAt).
func TestMarkerWithoutCurrentAtInTheStore(t *testing.T) {
	tg := store.Target{Location: "CurrentUser", StoreName: "MY", LinkOnRenewal: true}
	s := New(Options{})
	ca := newTestCA(t)
	ref := uniqueRef(t)
	cleanup(t, s, tg, ref, ca)
	old := ca.leaf(t, ref, version(1), "converge.example.test")
	rec := record{Vault: ref.Vault, Name: ref.Name, Version: version(1), Location: tg.Location, Store: tg.StoreName,
		InstalledAt: time.Now().Add(-time.Hour).UTC()}
	desc := rec.marker()
	if strings.Contains(desc, "currentAt") {
		t.Fatalf("marker of a version never made current has currentAt: %s", desc)
	}
	addForeign(t, tg.Location, tg.StoreName, old.Leaf, rec.friendlyName(), desc)
	if got := listed(t, s, tg, ref); got != "1*" {
		t.Fatalf("List with an old marker: %q, want 1*", got)
	}
	c2 := ca.leaf(t, ref, version(2), "converge.example.test")
	if _, err := s.Install(context.Background(), tg, c2); err != nil {
		t.Fatal(err)
	}
	if got := listed(t, s, tg, ref); got != "2* 1" {
		t.Fatalf("List: %s, want 2* 1", got)
	}
	if _, err := s.MakeCurrent(context.Background(), tg, ref, version(1)); err != nil {
		t.Fatal(err)
	}
	checkBack(t, tg, ref, want{1, ""}, want{2, thumbprint(old.Leaf.Raw)})
	_, d := findCert(t, tg.Location, tg.StoreName, old.Leaf, propDescription)
	if r, err := parseMarker(utf16Prop(d)); err != nil || r.CurrentAt.IsZero() || !r.InstalledAt.Equal(rec.InstalledAt) {
		t.Errorf("marker after MakeCurrent: %+v, %v; want currentAt set and installedAt kept", r, err)
	}
}
