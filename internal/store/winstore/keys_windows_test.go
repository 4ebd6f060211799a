package winstore

import (
	"context"
	"testing"

	"github.com/akvvm/akvvm/internal/wine"

	"github.com/akvvm/akvvm/internal/store"
	"golang.org/x/sys/windows"
)

// skipOnWine skips a test of behaviour Wine does not implement, naming the gap.
func skipOnWine(t *testing.T, gap string) {
	t.Helper()
	if v := wine.Version(); v != "" {
		t.Skipf("Wine %s: %s; real Windows must run this test", v, gap)
	}
}

func leafKey(t *testing.T, tg store.Target, c store.Certificate) keyInfo {
	t.Helper()
	st, err := openSystemStore(tg.Location, tg.StoreName)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	ctx := st.find(c.Leaf.Raw)
	if ctx == nil {
		t.Fatal("certificate not installed")
	}
	defer windows.CertFreeCertificateContext(ctx)
	k, ok := keyProvInfo(ctx)
	if !ok {
		t.Fatal("installed certificate has no private key")
	}
	return k
}

func TestEachVersionHasItsOwnCNGKeyAndDeleteRemovesIt(t *testing.T) {
	skipOnWine(t, "keys are CAPI only, in one shared container per user")
	tg := store.Target{Location: "CurrentUser", StoreName: "MY"}
	s := New(Options{})
	ca := newTestCA(t)
	ref := uniqueRef(t)
	cleanup(t, s, tg, ref, ca)
	c1, c2 := ca.leaf(t, ref, version(1), "k.example.test"), ca.leaf(t, ref, version(2), "k.example.test")
	for _, c := range []store.Certificate{c1, c2} {
		if _, err := s.Install(context.Background(), tg, c); err != nil {
			t.Fatal(err)
		}
	}
	k1, k2 := leafKey(t, tg, c1), leafKey(t, tg, c2)
	if k1.container == k2.container {
		t.Fatalf("both versions share key container %q", k1.container)
	}
	if k1.provType != 0 || k2.provType != 0 {
		t.Fatalf("keys are not CNG: provider types %d, %d", k1.provType, k2.provType)
	}
	if _, err := s.Delete(context.Background(), tg, ref, []string{version(1)}); err != nil {
		t.Fatal(err)
	}
	if err := deleteKey(k1); err == nil {
		t.Fatal("the deleted version's key was still there")
	}
}

func TestKeyPermissionsAreApplied(t *testing.T) {
	skipOnWine(t, "NCRYPT_SECURITY_DESCR_PROPERTY is unsupported and the CAPI key ACL can be set only once")
	tg := store.Target{Location: "CurrentUser", StoreName: "MY", Accounts: []string{"Network Service"}}
	s := New(Options{})
	ca := newTestCA(t)
	ref := uniqueRef(t)
	cleanup(t, s, tg, ref, ca)
	c := ca.leaf(t, ref, version(1), "acl.example.test")
	if _, err := s.Install(context.Background(), tg, c); err != nil {
		t.Fatalf("install with Network Service read access: %v", err)
	}
}
