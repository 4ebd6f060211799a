package filestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/akvvm/akvvm/internal/store"
)

var _ store.Recoverer = (*Store)(nil)

// Recover cleans up after a killed akvvm in every distinct directory of
// targets, under the exclusive directory lock: it drops pending versions
// whose file never arrived from their record, creates a link whose first
// install died before the link was made, and removes akvvm's temp files and
// temp links (".akvvm-tmp-*", also in the records directory). Nothing akvvm
// did not write is touched. It costs one readdir of the store directory and
// one of the records directory; a record is read only when a temp file
// carries its certificate's tag. A directory that does not exist is fine.
func (s *Store) Recover(ctx context.Context, targets []store.Target) error {
	seen := map[string]bool{}
	var errs []error
	for _, t := range targets {
		dir, err := checkLocation(t.Location)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[dir] {
			continue
		}
		seen[dir] = true
		if err := s.recoverDir(ctx, dir); err != nil {
			errs = append(errs, fmt.Errorf("recovering certificate store %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Store) recoverDir(ctx context.Context, dir string) error {
	if ok, err := s.openDir(dir, false); err != nil || !ok {
		return err
	}
	if err := s.migrate(ctx, dir); err != nil {
		return err
	}
	unlock, err := lockDir(ctx, dir)
	if err != nil {
		return err
	}
	defer unlock()
	haveRecords, err := checkRecordsDir(dir)
	if err != nil {
		return err
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("listing %s: %w", dir, err)
	}
	names := make(map[string]bool, len(entries))
	tags := map[string]bool{}
	var temps []string
	for _, e := range entries {
		n := e.Name()
		names[n] = true
		if isTempName(n) {
			temps = append(temps, n)
			if tag := tagOfTemp(n); tag != "" {
				tags[tag] = true
			}
		}
	}
	var errs []error
	dirChanged := false
	recDir := filepath.Join(dir, recordsDirName)
	var recTemps []string
	if haveRecords {
		rentries, err := os.ReadDir(recDir)
		if err != nil {
			return fmt.Errorf("listing %s: %w", recDir, err)
		}
		recChanged := false
		for _, e := range rentries {
			n := e.Name()
			if isTempName(n) {
				recTemps = append(recTemps, n)
				continue
			}
			ref, ok := refOfRecord(n)
			if !ok || !tags[tempTag(ref)] {
				continue
			}
			wrote, linked, err := s.recoverRecord(dir, recDir, ref, names)
			if err != nil {
				errs = append(errs, err)
			}
			recChanged = recChanged || wrote
			dirChanged = dirChanged || linked
		}
		// Records are durable before the temp files they name go.
		if recChanged {
			if err := syncDir(s.fs, recDir); err != nil {
				return err
			}
		}
	}
	recRemoved := false
	for _, n := range recTemps {
		if err := removeIfExists(s.fs, filepath.Join(recDir, n)); err != nil {
			errs = append(errs, err)
			continue
		}
		recRemoved = true
		s.log.Info("removed a temporary file left by an interrupted akvvm", "file", filepath.Join(recordsDirName, n))
	}
	if recRemoved {
		if err := syncDir(s.fs, recDir); err != nil {
			errs = append(errs, err)
		}
	}
	for _, n := range temps {
		if err := removeIfExists(s.fs, filepath.Join(dir, n)); err != nil {
			errs = append(errs, err)
			continue
		}
		dirChanged = true
		s.log.Info("removed a temporary file left by an interrupted akvvm", "file", n)
	}
	if dirChanged {
		if err := syncDir(s.fs, dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// recoverRecord finishes or undoes what the record of ref says was under
// way, judged from names (the store directory's entries): a pending version
// whose file is missing while its temp file is there never arrived and is
// dropped; a missing link is made to point at the newest version present.
// It reports whether it wrote the record and whether it made the link.
func (s *Store) recoverRecord(dir, recDir string, ref store.Ref, names map[string]bool) (wrote, linked bool, err error) {
	rec, raw, err := loadRecord(recDir, ref)
	if err != nil || rec == nil {
		return false, false, err
	}
	next := rec.clone()
	gone := map[string]bool{}
	for _, v := range next.Versions {
		if v.Pending != "" && !names[v.File] && names[v.Pending] {
			gone[v.Version] = true
			s.log.Info("dropped a version whose install was interrupted before its file arrived", "file", v.File)
		}
	}
	if len(gone) > 0 {
		dropVersions(&next.certState, gone)
		clearArrived(dir, next, "")
		if len(next.Versions) == 0 {
			err = writeRecordBytes(s.fs, recDir, ref, nil)
		} else {
			_, err = saveRecord(s.fs, recDir, next, raw)
		}
		if err != nil {
			return false, false, err
		}
		wrote = true
	}
	if next.Link != "" && !names[next.Link] {
		for _, v := range newestFirst(&next.certState) {
			if names[v.File] {
				if err := swapLink(s.fs, dir, next.Link, filepath.Join(dir, v.File)); err != nil {
					return wrote, false, err
				}
				s.log.Info("made the symbolic link an interrupted install did not make", "link", next.Link, "file", v.File)
				return wrote, true, nil
			}
		}
	}
	return wrote, false, nil
}
