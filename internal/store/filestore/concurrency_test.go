package filestore

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/akvvm/akvvm/internal/store"
)

// Several stores (as several processes would) install into one directory at
// once; the directory lock keeps every record.
func TestConcurrentStoresKeepEveryRecord(t *testing.T) {
	_, dir, _ := newTestStore(t)
	target := store.Target{Location: dir}
	const n = 6
	certs := make([]store.Certificate, n)
	for i := range certs {
		certs[i] = newCert(t, store.Ref{Vault: "exampleVault", Name: fmt.Sprintf("cert%d", i)}, "v1", ecKey, 0)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range certs {
		wg.Go(func() {
			_, errs[i] = New(Options{}).Install(t.Context(), target, certs[i])
		})
	}
	wg.Wait()
	s := New(Options{})
	for i, c := range certs {
		if errs[i] != nil {
			t.Errorf("Install %s: %v", c.Name, errs[i])
			continue
		}
		list, err := s.List(t.Context(), target, c.Ref)
		if err != nil || len(list) != 1 {
			t.Errorf("List %s = %v, %v; want its version recorded", c.Name, versions(list), err)
		}
	}
}

func TestChangedLinkNameMovesTheLink(t *testing.T) {
	s, dir, _ := newTestStore(t)
	c := newCert(t, testRef, "v1", ecKey, 0)
	mustInstall(t, s, store.Target{Location: dir}, c)
	mustInstall(t, s, store.Target{Location: dir, LinkName: "web.pem"}, c)
	if _, err := os.Lstat(filepath.Join(dir, "exampleVault.myCertificate")); !os.IsNotExist(err) {
		t.Errorf("the old link akvvm made is still there (lstat: %v)", err)
	}
	if got := readLink(t, dir, "web.pem"); got != "exampleVault.myCertificate.v1" {
		t.Errorf("new link points at %s", got)
	}
}
