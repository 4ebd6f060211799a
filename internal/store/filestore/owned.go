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

var _ store.Enumerator = (*Store)(nil)

// Owned returns the certificates akvvm records at t: one per record in
// the records directory, and those of a legacy whole-store state file not
// migrated yet. A missing directory holds none. It takes no lock: Remove
// then works on each under its own locks.
func (s *Store) Owned(_ context.Context, t store.Target) ([]store.Ref, error) {
	dir := t.Location
	seen := map[store.Ref]bool{}
	var out []store.Ref
	add := func(ref store.Ref) {
		if !seen[ref] {
			seen[ref] = true
			out = append(out, ref)
		}
	}
	have, err := checkRecordsDir(dir)
	if err != nil {
		return nil, err
	}
	if have {
		entries, err := os.ReadDir(filepath.Join(dir, recordsDirName))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("listing akvvm's records in %s: %w", dir, err)
		}
		for _, e := range entries {
			if ref, ok := refOfRecord(e.Name()); ok && e.Type().IsRegular() {
				add(ref)
			}
		}
	}
	st, err := loadState(dir)
	if err != nil {
		return out, err
	}
	if st != nil {
		for _, c := range st.Certificates {
			add(c.ref())
		}
	}
	return out, nil
}
