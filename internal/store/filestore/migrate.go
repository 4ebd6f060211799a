package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// migrate converts dir's legacy whole-store state file (format 1) into
// per-certificate records, under the exclusive directory lock, the first
// time akvvm meets it. No certificate file or link is read or written. The
// state file is removed only after every record and the records directory
// are durable, so a kill halfway is finished by the next call. Without a
// state file it costs one lstat.
//
// A record that already exists (an older akvvm ran again on a migrated
// directory, during an upgrade overlap or after a downgrade) is merged
// with the state, never replaced: its versions and link stay as they are,
// and the state's versions it lacks are added, so no version file either
// of them wrote ends up unrecorded.
func (s *Store) migrate(ctx context.Context, dir string) error {
	path := filepath.Join(dir, stateFileName)
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("checking the old store state %s: %w", path, err)
	}
	unlock, err := lockDir(ctx, dir)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := loadState(dir)
	if err != nil || st == nil { // nil: another process migrated meanwhile
		return err
	}
	haveRecords, err := checkRecordsDir(dir)
	if err != nil {
		return err
	}
	if !haveRecords {
		if err := s.makeRecordsDir(dir); err != nil {
			return err
		}
	}
	recDir := filepath.Join(dir, recordsDirName)
	merged := 0
	for _, c := range st.Certificates {
		r, raw, err := loadRecord(recDir, c.ref())
		if err != nil {
			return fmt.Errorf("migrating %s: %w; the old state stays until this succeeds", path, err)
		}
		if r == nil {
			r = &record{Format: recordFormat, certState: c}
		} else {
			mergeLegacy(r, c)
			merged++
		}
		if _, err := saveRecord(s.fs, recDir, r, raw); err != nil {
			return fmt.Errorf("migrating %s: %w; the old state stays until this succeeds", path, err)
		}
	}
	if err := syncDir(s.fs, recDir); err != nil {
		return fmt.Errorf("migrating %s: %w; the old state stays until this succeeds", path, err)
	}
	if err := s.fs.Remove(path); err != nil {
		return fmt.Errorf("removing the migrated store state %s: %w; remove it by hand", path, err)
	}
	if err := syncDir(s.fs, dir); err != nil {
		return err
	}
	s.log.Info("migrated the store state to per-certificate records", "dir", dir, "certificates", len(st.Certificates), "merged", merged)
	return nil
}

// mergeLegacy adds to r the versions of the legacy entry c that r does not
// record, keeping r's own entries and link (r is newer, or as new), and
// Versions stay in install order.
func mergeLegacy(r *record, c certState) {
	added := false
	for _, v := range c.Versions {
		if r.version(v.Version) < 0 {
			r.Versions = append(r.Versions, v)
			added = true
		}
	}
	if r.Link == "" {
		r.Link = c.Link
	}
	if added {
		slices.SortStableFunc(r.Versions, func(a, b versionState) int { return a.InstalledAt.Compare(b.InstalledAt) })
	}
}
