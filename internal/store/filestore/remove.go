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

// Remove removes every version of ref that akvvm recorded at t, the link it
// maintains for ref (only while that link still points at one of those
// versions) and ref's record, and returns the versions removed. Files akvvm
// did not record are never touched. When the record of the directory is
// then empty, the state and lock files go too; the directory stays.
//
// The link goes first, so it never points at a removed file. A failure
// leaves the record describing exactly what is still there, so calling
// Remove again finishes the job; removing what is already gone succeeds
// with nothing removed.
func (s *Store) Remove(ctx context.Context, t store.Target, ref store.Ref) ([]store.Installed, error) {
	dir, st, cs, release, err := s.openRecord(ctx, t, ref, true)
	if err != nil {
		return nil, err
	}
	defer release()
	if cs == nil {
		return nil, nil
	}
	if err := s.removeLink(dir, cs); err != nil {
		return nil, err
	}
	removed, gone, errs := s.deleteVersions(dir, ref, newestFirst(cs), "removed")
	if err := s.forget(dir, st, ref, gone); err != nil {
		// The files are gone; List reports them as missing until the next
		// successful Remove drops them from the record.
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("removing %s/%s from %s (%w): fix the cause and remove again; files akvvm still records stay recorded", ref.Vault, ref.Name, dir, err)
	}
	return removed, nil
}

// forget drops the removed versions of ref from st and saves it; ref's
// record goes when no version is left, and the state and lock files go
// when nothing is recorded any more. The caller holds the directory lock.
func (s *Store) forget(dir string, st *state, ref store.Ref, gone map[string]bool) error {
	cs := st.cert(ref)
	dropVersions(cs, gone)
	if len(cs.Versions) == 0 {
		certs := st.Certificates[:0]
		for _, c := range st.Certificates {
			if c.ref() != ref {
				certs = append(certs, c)
			}
		}
		st.Certificates = certs
	}
	if len(st.Certificates) > 0 {
		raw, err := st.encode()
		if err != nil {
			return err
		}
		return saveState(s.fs, dir, raw)
	}
	if err := saveState(s.fs, dir, nil); err != nil {
		return err
	}
	// Removed while held: lockDir notices a lock file that is no longer
	// in the directory and takes the new one instead.
	if err := s.fs.Remove(filepath.Join(dir, lockFileName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing lock file: %w", err)
	}
	return s.fs.SyncDir(dir)
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
	if filepath.Dir(target) != dir || versionOf(cs, filepath.Base(target)) == "" {
		s.log.Warn("not removing a symbolic link that no longer points at a version akvvm installed", "link", p, "target", target)
		return nil
	}
	if err := s.fs.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing symbolic link %s: %w; nothing else was removed", p, err)
	}
	s.log.Info("removed symbolic link", "link", cs.Link)
	return nil
}
