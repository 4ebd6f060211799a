package winstore

import (
	"context"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/store"
)

// A second observed certificate holding the certificate that akvvm
// installed for another entry is refused with that owner named and the
// advice to drop one entry, and the owner's version stays untouched.
func TestSameCertificateForTwoEntriesNamesTheOwner(t *testing.T) {
	tg := store.Target{Location: "CurrentUser", StoreName: "MY", LinkOnRenewal: true}
	s := New(Options{LockDir: lockTestDir(t)})
	ca := newTestCA(t)
	owner, other := uniqueRef(t), uniqueRef(t)
	other.Name += "-copy"
	cleanup(t, s, tg, owner, ca)
	cleanup(t, s, tg, other, nil)
	ctx := context.Background()
	c := ca.leaf(t, owner, version(1), "shared.example.test")
	if _, err := s.Install(ctx, tg, c); err != nil {
		t.Fatal(err)
	}
	dup := c
	dup.Ref, dup.Version = other, version(2)
	_, err := s.Install(ctx, tg, dup)
	if err == nil {
		t.Fatal("the same certificate was installed for a second entry")
	}
	for _, want := range []string{
		"akvvm installed it for the observed certificate " + owner.Vault + "/" + owner.Name + " (version " + version(1) + ")",
		other.Vault + "/" + other.Name + " holds the same certificate",
		"remove one of the two entries from the settings instead of removing the certificate from the store",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\ndoes not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "akvvm did not install it there") {
		t.Errorf("error %q says akvvm did not install it", err)
	}
	l, err := s.List(ctx, tg, owner)
	if err != nil || len(l) != 1 || l[0].Version != version(1) {
		t.Errorf("owner's versions = %+v, %v; want version 1 untouched", l, err)
	}
	if l, _ := s.List(ctx, tg, other); len(l) != 0 {
		t.Errorf("the second entry got versions %+v", l)
	}
}
