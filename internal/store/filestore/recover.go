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

var _ store.Recoverer = (*Store)(nil)

// Recover cleans up after a killed akvvm in every distinct directory of
// targets: it drops pending versions whose file never arrived from their
// record, makes a missing link point at its certificate's newest version
// present (a first install killed between renaming the file into place and
// making the link, or a Remove killed after taking the link), and removes
// akvvm's temp files, temp links and temp output directories
// (".akvvm-tmp-*", also in the records directory). Nothing akvvm did not
// write is touched. A directory that
// does not exist is fine.
//
// It first looks without locking: a directory where akvvm never wrote
// anything (no records directory, no old state file, no temp file; one
// lstat and one readdir) is left alone and nothing is created in it.
// Otherwise it migrates an old state file, takes the exclusive directory
// lock and lists the store and records directories. A record is read only
// when a temp file carries its certificate's tag, or when no symbolic link
// to one of its certificate's files is there: the default link name is
// checked in the listing, other links are read once (one readlink each)
// and only when a record has no default link. With 1,000 certificates a
// pass with nothing to do costs about 1.6 ms with default link names and
// 3 ms with custom ones (reading every record would cost 12 ms). A link
// name change killed before the new link was made leaves the old link, so
// Recover leaves it to the agent's next pass. When nothing is recorded in
// the end, akvvm's lock file and empty records directory go, as after
// Remove of the last certificate.
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

// akvvmWroteHere reports whether entries, a listing of a store directory,
// hold anything akvvm writes besides its lock file.
func akvvmWroteHere(entries []os.DirEntry) bool {
	for _, e := range entries {
		if n := e.Name(); n == recordsDirName || n == stateFileName || isTempName(n) {
			return true
		}
	}
	return false
}

func (s *Store) recoverDir(ctx context.Context, dir string) error {
	if ok, err := s.openDir(dir, false); err != nil || !ok {
		return err
	}
	// A first look without the lock, which would create the lock file:
	// the records directory is the common case, else one readdir.
	if !pathExists(filepath.Join(dir, recordsDirName)) {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("listing %s: %w", dir, err)
		}
		if !akvvmWroteHere(entries) {
			return nil
		}
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

	// Listed again under the lock: an install that was running during the
	// first look has finished, and judging by that look would take its
	// renamed file for one that never arrived.
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("listing %s: %w", dir, err)
	}
	names := make(map[string]bool, len(entries))
	tags := map[string]bool{}
	var temps, links []string
	for _, e := range entries {
		n := e.Name()
		names[n] = true
		if isTempName(n) {
			temps = append(temps, n)
			if tag := tagOfTemp(n); tag != "" {
				tags[tag] = true
			}
		} else if e.Type()&fs.ModeSymlink != 0 {
			links = append(links, n)
		}
	}
	var errs []error
	dirChanged := false
	recDir := filepath.Join(dir, recordsDirName)
	var recTemps []string
	recorded := false
	// linked reports whether a symbolic link in dir points at a file of
	// ref; the links are read once, and only if a record asks.
	var linkedRefs map[store.Ref]bool
	linked := func(ref store.Ref) bool {
		if linkedRefs == nil {
			linkedRefs = map[store.Ref]bool{}
			for _, n := range links {
				target, err := os.Readlink(filepath.Join(dir, n))
				if err != nil {
					continue
				}
				if owner, _, ok := refOfFile(linkBase(dir, target)); ok {
					linkedRefs[owner] = true
				}
			}
		}
		return linkedRefs[ref]
	}
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
			if !ok {
				continue
			}
			if !tags[tempTag(ref)] && (names[certBase(ref)] || linked(ref)) {
				// Nothing under way, and a link to the certificate is
				// there: most likely the record's, so it is not read.
				recorded = true
				continue
			}
			wrote, linked, left, err := s.recoverRecord(dir, recDir, ref, names)
			if err != nil && (tags[tempTag(ref)] || !errors.Is(err, errDamaged)) {
				// A damaged record with nothing to recover is left to
				// the operations on its certificate, which report it.
				errs = append(errs, err)
			}
			recorded = recorded || left
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
		if err := s.removeTemp(filepath.Join(dir, n)); err != nil {
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
	if !recorded && len(errs) == 0 {
		if err := s.removeSharedFilesIfUnused(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// recoverRecord finishes or undoes what the record of ref says was under
// way, judged from names (the store directory's entries): a pending version
// whose file is missing while its temp file is there never arrived and is
// dropped; a missing link is made to point at the newest version present.
// It reports whether it wrote the record, whether it made the link and
// whether a record is left (also when reading it failed).
func (s *Store) recoverRecord(dir, recDir string, ref store.Ref, names map[string]bool) (wrote, linked, left bool, err error) {
	rec, raw, err := loadRecord(recDir, ref)
	if err != nil || rec == nil {
		return false, false, err != nil, err
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
			return false, false, true, err
		}
		wrote = true
	}
	left = len(next.Versions) > 0
	if next.Link != "" && !names[next.Link] {
		for _, v := range newestFirst(&next.certState) {
			if names[v.File] {
				if err := swapLink(s.fs, dir, next.Link, linkText(dir, v.File, next.RelativeLinks)); err != nil {
					return wrote, false, left, err
				}
				s.log.Info("made the missing symbolic link point at the newest installed version", "link", next.Link, "file", v.File)
				return wrote, true, left, nil
			}
		}
	}
	return wrote, false, left, nil
}
