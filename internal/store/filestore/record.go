package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/akvvm/akvvm/internal/store"
)

// openRecord checks the arguments, takes the store's mutex and, when lock
// is set, the directory lock, and loads ref's record at t. A missing
// directory or record gives a nil record and no error. release must be
// called when the returned error is nil.
func (s *Store) openRecord(ctx context.Context, t store.Target, ref store.Ref, lock bool) (dir string, st *state, cs *certState, release func(), err error) {
	if err := ctx.Err(); err != nil {
		return "", nil, nil, nil, err
	}
	if err := checkRef(ref); err != nil {
		return "", nil, nil, nil, err
	}
	dir, err = checkLocation(t.Location)
	if err != nil {
		return "", nil, nil, nil, err
	}
	s.mu.Lock()
	release = s.mu.Unlock
	fail := func(err error) (string, *state, *certState, func(), error) {
		release()
		return "", nil, nil, nil, err
	}
	ok, err := s.openDir(dir, false)
	if err != nil {
		return fail(err)
	}
	if !ok {
		return dir, nil, nil, release, nil
	}
	if lock {
		unlock, err := lockDir(ctx, dir)
		if err != nil {
			return fail(err)
		}
		release = func() { unlock(); s.mu.Unlock() }
	}
	st, _, err = loadState(dir)
	if err != nil {
		return fail(err)
	}
	return dir, st, st.cert(ref), release, nil
}

// deleteVersions removes the files of versions (verb names the action in
// the log), flushes the directory when something went, and reports
// which versions are gone. Files that are already missing count as gone.
func (s *Store) deleteVersions(dir string, ref store.Ref, versions []versionState, verb string) (removed []store.Installed, gone map[string]bool, errs []error) {
	gone = map[string]bool{}
	for _, v := range versions {
		in := installed(dir, ref, v)
		if err := s.fs.Remove(in.Location); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("removing %s: %w", in.Location, err))
			continue
		}
		gone[v.Version] = true
		removed = append(removed, in)
		s.log.Info(verb+" certificate version", "file", v.File, "thumbprint", v.Thumbprint, "notAfter", v.NotAfter)
	}
	if len(removed) > 0 {
		if err := s.fs.SyncDir(dir); err != nil {
			errs = append(errs, fmt.Errorf("flushing directory %s to disk: %w", dir, err))
		}
	}
	return removed, gone, errs
}

// dropVersions removes the gone versions from cs's record.
func dropVersions(cs *certState, gone map[string]bool) {
	kept := cs.Versions[:0]
	for _, v := range cs.Versions {
		if !gone[v.Version] {
			kept = append(kept, v)
		}
	}
	cs.Versions = kept
}
