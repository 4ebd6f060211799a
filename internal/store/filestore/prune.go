package filestore

import (
	"context"
	"errors"
	"fmt"
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
	if keep < 0 {
		return nil, fmt.Errorf("prune: keep is %d, want 0 or more", keep)
	}
	dir, st, cs, release, err := s.openRecord(ctx, t, ref, true)
	if err != nil {
		return nil, err
	}
	defer release()
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
	var victims []versionState
	for _, v := range ordered[keep:] {
		if v.File != protected {
			victims = append(victims, v)
		}
	}
	removed, gone, errs := s.deleteVersions(dir, ref, victims, "pruned")
	if len(removed) == 0 {
		return nil, errors.Join(errs...)
	}
	dropVersions(cs, gone)
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
