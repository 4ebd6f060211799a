package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// migrate converts dir's legacy whole-store state file (format 1) into
// per-certificate records, under the exclusive directory lock, the first
// time akvvm meets it. No certificate file or link is read or written. The
// state file is removed only after every record and the records directory
// are durable, so a kill halfway is finished by the next call. Without a
// state file it costs one lstat.
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
	for _, c := range st.Certificates {
		r := &record{Format: recordFormat, certState: c}
		if _, err := saveRecord(s.fs, recDir, r, nil); err != nil {
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
	s.log.Info("migrated the store state to per-certificate records", "dir", dir, "certificates", len(st.Certificates))
	return nil
}
