package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/akvvm/akvvm/internal/store"
)

// Prune removes the recorded versions of ref beyond the keep newest (by
// InstalledAt, ties by install order) and returns what it removed. It never
// removes the file the link points at, nor any file it did not record. A
// recorded file that is already gone is dropped from the record and
// returned as removed.
func (s *Store) Prune(ctx context.Context, t store.Target, ref store.Ref, keep int) ([]store.Installed, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if keep < 0 {
		return nil, fmt.Errorf("prune: keep is %d, want 0 or more", keep)
	}
	if err := checkRef(ref); err != nil {
		return nil, err
	}
	dir, err := checkLocation(t.Location)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok, err := s.openDir(dir, false); err != nil || !ok {
		return nil, err
	}
	unlock, err := lockDir(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, _, err := loadState(dir)
	if err != nil {
		return nil, err
	}
	cs := st.cert(ref)
	if cs == nil {
		return nil, nil
	}
	ordered := newestFirst(cs)
	if len(ordered) <= keep {
		return nil, nil
	}
	protected := ""
	if cs.Link != "" {
		if target, err := os.Readlink(filepath.Join(dir, cs.Link)); err == nil && filepath.Dir(target) == dir {
			protected = filepath.Base(target)
		}
	}

	var removed []store.Installed
	var errs []error
	gone := map[string]bool{}
	for _, v := range ordered[keep:] {
		if v.File == protected {
			continue
		}
		in := installed(dir, ref, v)
		if err := s.fs.Remove(in.Location); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("removing old version %s: %w", in.Location, err))
			continue
		}
		gone[v.Version] = true
		removed = append(removed, in)
		s.log.Info("pruned certificate version", "file", v.File, "thumbprint", v.Thumbprint, "notAfter", v.NotAfter)
	}
	if len(removed) == 0 {
		return nil, errors.Join(errs...)
	}
	if err := s.fs.SyncDir(dir); err != nil {
		errs = append(errs, fmt.Errorf("flushing directory %s to disk: %w", dir, err))
	}
	kept := cs.Versions[:0]
	for _, v := range cs.Versions {
		if !gone[v.Version] {
			kept = append(kept, v)
		}
	}
	cs.Versions = kept
	raw, err := st.encode()
	if err == nil {
		err = saveState(s.fs, dir, raw)
	}
	if err != nil {
		// The files are gone; List reports them as missing until the next
		// successful Prune drops them from the record.
		errs = append(errs, err)
	}
	return removed, errors.Join(errs...)
}
