package filestore

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

// Four goroutines of one store install, switch and delete versions of
// different certificates at once while others list them; nothing is lost
// and no call waits for another certificate's I/O to serialise it.
func TestConcurrentCertificatesInOneStore(t *testing.T) {
	s, dir, _ := newTestStore(t)
	target := store.Target{Location: dir}
	const workers, rounds = 4, 5
	refs := make([]store.Ref, workers)
	certs := make([][]store.Certificate, workers)
	for i := range refs {
		refs[i] = store.Ref{Vault: "exampleVault", Name: fmt.Sprintf("cert%d", i)}
		for r := range rounds {
			certs[i] = append(certs[i], newCert(t, refs[i], fmt.Sprintf("v%d", r), ecKey, 0))
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds*4)
	for i := range refs {
		wg.Go(func() {
			for r, c := range certs[i] {
				if _, err := s.Install(t.Context(), target, c); err != nil {
					errs <- err
				}
				if r >= 2 {
					if _, err := s.Delete(t.Context(), target, refs[i], []string{fmt.Sprintf("v%d", r-2)}); err != nil {
						errs <- err
					}
				}
				if _, err := s.List(t.Context(), target, refs[(i+1)%workers]); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i, ref := range refs {
		list, err := s.List(t.Context(), target, ref)
		want := []string{fmt.Sprintf("v%d", rounds-1), fmt.Sprintf("v%d", rounds-2)}
		if err != nil || !slices.Equal(versions(list), want) || !list[0].Current {
			t.Errorf("cert%d: List = %v, %v; want %v with the first current", i, versions(list), err, want)
		}
	}
	checkConsistent(t, dir)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.refs) != 0 {
		t.Errorf("%d per-certificate mutexes left after all calls returned", len(s.refs))
	}
}

// Two stores (two processes) work on the same certificate at once; the
// certificate's flock keeps its record whole.
func TestTwoStoresOnOneCertificate(t *testing.T) {
	_, dir, _ := newTestStore(t)
	target := store.Target{Location: dir}
	a, b := New(Options{Logger: discard()}), New(Options{Logger: discard()})
	const n = 6
	var certs []store.Certificate
	for i := range n {
		certs = append(certs, newCert(t, testRef, fmt.Sprintf("v%d", i), ecKey, 0))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, c := range certs {
		st := a
		if i%2 == 1 {
			st = b
		}
		wg.Go(func() {
			_, errs[i] = st.Install(t.Context(), target, c)
			if errs[i] == nil {
				errs[i] = st.Recover(t.Context(), []store.Target{target})
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Install v%d: %v", i, err)
		}
	}
	list, err := a.List(t.Context(), target, testRef)
	if err != nil || len(list) != n || !list[0].Current {
		t.Fatalf("List = %v, %v; want all %d versions, the first current", versions(list), err, n)
	}
	if got := readLink(t, dir, "exampleVault.myCertificate"); got != filepath.Base(list[0].Location) {
		t.Errorf("the link points at %s but List marks %s current", got, list[0].Version)
	}
	checkConsistent(t, dir)
}

// Removing the last certificate deletes the records directory and the lock
// file while another process may be about to install: that one must wait
// and then start afresh, never fail.
func TestInstallRacesRemoveOfTheLastCertificate(t *testing.T) {
	_, dir, _ := newTestStore(t)
	target := store.Target{Location: dir}
	other := store.Ref{Vault: "exampleVault", Name: "other"}
	certs := map[store.Ref]store.Certificate{
		testRef: newCert(t, testRef, "v1", ecKey, 0),
		other:   newCert(t, other, "v1", ecKey, 0),
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for ref, c := range certs {
		st := New(Options{Logger: discard()})
		wg.Go(func() {
			for range 15 {
				if _, err := st.Install(t.Context(), target, c); err != nil {
					errs <- err
				}
				if _, err := st.Remove(t.Context(), target, ref); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := names(t, dir); len(got) != 0 {
		t.Errorf("after every certificate was removed the directory holds %v", got)
	}
}

// List takes no lock, while Delete and Remove take the files before they
// update the record: a List running meanwhile must not report the files as
// missing (it looks again under the certificate's locks). Two stores, as
// two processes would, so only the flocks order them.
func TestListDuringDeleteReportsNoMissingFiles(t *testing.T) {
	writer, dir, _ := newTestStore(t)
	reader := New(Options{Logger: discard()})
	writer.log = discard()
	target := store.Target{Location: dir, LinkName: "pinned.pem"}
	certs := make([]store.Certificate, 4)
	for i := range certs {
		certs[i] = newCert(t, testRef, fmt.Sprintf("v%d", i), ecKey, 0)
	}
	mustInstall(t, writer, target, certs[0])
	done := make(chan struct{})
	go func() {
		defer close(done)
		for round := range 60 {
			for _, c := range certs[1:] {
				if _, err := writer.Install(t.Context(), target, c); err != nil {
					t.Error(err)
					return
				}
			}
			if _, err := writer.MakeCurrent(t.Context(), target, testRef, "v0"); err != nil {
				t.Error(err)
				return
			}
			if _, err := writer.Delete(t.Context(), target, testRef, []string{"v1", "v2", "v3"}); err != nil {
				t.Error(err)
				return
			}
			if round%10 == 9 {
				if _, err := writer.Remove(t.Context(), target, testRef); err != nil {
					t.Error(err)
					return
				}
				mustInstallQuiet(t, writer, target, certs[0])
			}
		}
	}()
	for {
		select {
		case <-done:
			return
		default:
		}
		if _, err := reader.List(t.Context(), target, testRef); err != nil {
			t.Errorf("List during Delete and Remove: %v", err)
			<-done
			return
		}
	}
}

// mustInstallQuiet is mustInstall for goroutines: it reports with t.Error.
func mustInstallQuiet(t *testing.T, s *Store, target store.Target, c store.Certificate) {
	if _, err := s.Install(t.Context(), target, c); err != nil {
		t.Error(err)
	}
}
