package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/akvvm/akvvm/internal/store"
)

// Remove removes every version of ref that akvvm recorded at t, the link it
// maintains for ref (only while that link still points at one of those
// versions), ref's record and lock file, and returns the versions removed.
// Files akvvm did not record are never touched. When no other certificate
// is recorded in the directory, the records directory and the lock file go
// too (also when ref itself was not recorded); the directory stays. Remove
// holds the exclusive directory lock.
//
// The link goes first, so it never points at a removed file. A failure
// leaves the record describing exactly what is still there, so calling
// Remove again finishes the job; removing what is already gone succeeds
// with nothing removed.
func (s *Store) Remove(ctx context.Context, t store.Target, ref store.Ref) ([]store.Installed, error) {
	sess, err := s.open(ctx, t, ref, dirWrite, false)
	if err != nil {
		return nil, err
	}
	defer sess.release()
	rec := sess.rec
	if rec == nil {
		// Nothing of ref is recorded; the lock taken to find that out
		// must not stay behind where nothing else is recorded either.
		if sess.dirLocked {
			if err := s.removeSharedFilesIfUnused(sess.dir); err != nil {
				return nil, fmt.Errorf("removing %s/%s from %s: %w", ref.Vault, ref.Name, sess.dir, err)
			}
		}
		return nil, nil
	}
	if err := s.removeLink(sess.dir, &rec.certState); err != nil {
		return nil, err
	}
	if err := s.removeOutputsLink(sess.dir, &rec.certState, rec.OutputsLink); err != nil {
		return nil, err
	}
	removed, gone, errs := s.deleteVersions(sess, newestFirst(&rec.certState), "removed")
	if err := s.forget(sess, gone); err != nil {
		// The files are gone; List reports them as missing until the next
		// successful Remove drops them from the record.
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("removing %s/%s from %s (%w): fix the cause and remove again; files akvvm still records stay recorded", ref.Vault, ref.Name, sess.dir, err)
	}
	return removed, nil
}

// forget drops the removed versions from the session's record and saves
// it; the record and the certificate's lock file go when no version is
// left, and akvvm's shared files when no record is left. The caller holds
// the exclusive directory lock, so nobody holds a lock file removed here.
func (s *Store) forget(sess *session, gone map[string]bool) error {
	next := sess.rec.clone()
	dropVersions(&next.certState, gone)
	if len(next.Versions) > 0 {
		if _, err := saveRecord(s.fs, sess.recDir, next, sess.raw); err != nil {
			return err
		}
		return syncDir(s.fs, sess.recDir)
	}
	if err := writeRecordBytes(s.fs, sess.recDir, sess.ref, nil); err != nil {
		return err
	}
	if err := removeIfExists(s.fs, filepath.Join(sess.recDir, certLockFileName(sess.ref))); err != nil {
		return err
	}
	return s.removeSharedFilesIfUnused(sess.dir)
}

// removeSharedFilesIfUnused removes the records directory and the
// directory lock file when no certificate is recorded any more (no record,
// no old state file). Only akvvm's own names are removed; anything else
// keeps the records directory. The caller holds the exclusive directory
// lock.
func (s *Store) removeSharedFilesIfUnused(dir string) error {
	if pathExists(filepath.Join(dir, stateFileName)) {
		return nil // an older akvvm records certificates there
	}
	recDir := filepath.Join(dir, recordsDirName)
	haveRecords, err := checkRecordsDir(dir)
	if err != nil {
		return err
	}
	if haveRecords {
		entries, err := os.ReadDir(recDir)
		if err != nil {
			return fmt.Errorf("listing akvvm's records directory %s: %w", recDir, err)
		}
		for _, e := range entries {
			if _, ok := refOfRecord(e.Name()); ok {
				return syncDir(s.fs, recDir) // another certificate is still recorded
			}
		}
		for _, e := range entries {
			name := e.Name()
			if isCertLockName(name) || isTempName(name) {
				if err := removeIfExists(s.fs, filepath.Join(recDir, name)); err != nil {
					return err
				}
			}
		}
		if err := s.fs.Remove(recDir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("akvvm's records directory holds files akvvm did not write; it stays", "dir", recDir, "err", err)
			return syncDir(s.fs, recDir)
		}
	}
	// Removed while held: lockPath notices a lock file that is no longer
	// in the directory and takes the new one instead.
	lock := filepath.Join(dir, lockFileName)
	if !haveRecords && !pathExists(lock) {
		return nil
	}
	if err := removeIfExists(s.fs, lock); err != nil {
		return err
	}
	return syncDir(s.fs, dir)
}

// isCertLockName reports whether name is a certificate's lock file name.
func isCertLockName(name string) bool {
	stem, ok := strings.CutSuffix(name, certLockSuffix)
	if !ok {
		return false
	}
	_, ok = refOfRecord(stem + recordSuffix)
	return ok
}

// removeTemp removes one of akvvm's temp files or temp directories (those
// hold only output files and temp files akvvm wrote); a missing one is fine.
func (s *Store) removeTemp(path string) error {
	if isDir(path) {
		return s.removeOutputsDir(path)
	}
	return removeIfExists(s.fs, path)
}

// removeIfExists removes path; a missing path is fine.
func removeIfExists(fsys fileSystem, path string) error {
	if err := fsys.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing %s: %w", path, err)
	}
	return nil
}

// removeLink removes the link akvvm maintains for cs if it is still a
// symbolic link to one of cs's version files. A missing link is fine; a
// link that now points elsewhere, or a file that took its name, is not
// akvvm's and stays (with a log line).
func (s *Store) removeLink(dir string, cs *certState) error {
	if cs.Link == "" {
		return nil
	}
	p := filepath.Join(dir, cs.Link)
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking symbolic link %s: %w", p, err)
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		s.log.Warn("not removing a file that is not the symbolic link akvvm created", "file", p)
		return nil
	}
	target, err := os.Readlink(p)
	if err != nil {
		return fmt.Errorf("reading symbolic link %s: %w", p, err)
	}
	if cs.versionOf(linkBase(dir, target)) == "" {
		s.log.Warn("not removing a symbolic link that no longer points at a version akvvm installed", "link", p, "target", target)
		return nil
	}
	if err := s.fs.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing symbolic link %s: %w; nothing else was removed", p, err)
	}
	s.log.Info("removed symbolic link", "link", cs.Link)
	return nil
}
