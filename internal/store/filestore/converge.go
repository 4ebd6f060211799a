package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/akvvm/akvvm/internal/fsutil"
	"github.com/akvvm/akvvm/internal/store"
)

// MakeCurrent points ref's link at an installed version, also an older
// one, without writing its file. It costs one fsync (the store directory)
// when the link moves and nothing when the version is current already.
func (s *Store) MakeCurrent(ctx context.Context, t store.Target, ref store.Ref, version string) (store.Installed, error) {
	if err := checkVersion(version); err != nil {
		return store.Installed{}, err
	}
	link, err := linkName(t, ref)
	if err != nil {
		return store.Installed{}, err
	}
	sess, err := s.open(ctx, t, ref, certWrite, false)
	if err != nil {
		return store.Installed{}, err
	}
	defer sess.release()
	rec := sess.rec
	idx := -1
	if rec != nil {
		idx = rec.version(version)
	}
	if idx < 0 {
		return store.Installed{}, fmt.Errorf("version %s of %s/%s is not installed in %s: install it (akvvm downloads it again) instead of making it current", version, ref.Vault, ref.Name, sess.dir)
	}
	v := rec.Versions[idx]
	path := filepath.Join(sess.dir, v.File)
	if !regularFile(path) {
		return store.Installed{}, fmt.Errorf("version %s of %s/%s is recorded but its file %s is missing (deleted outside akvvm?): install the version again to restore it", version, ref.Vault, ref.Name, path)
	}
	if v.File == link {
		return store.Installed{}, fmt.Errorf("symbolic link name %q equals the version file name: choose another customSymbolicLinkName", link)
	}
	current, err := s.checkLink(sess, rec, link, v.File)
	if err != nil {
		return store.Installed{}, err
	}
	next := rec.clone()
	next.Link = link
	want := linkText(sess.dir, v.File, t.RelativeLinks)
	w := &installWrite{s: s, sess: sess, link: link, path: path, want: want, current: current, out: &outputsOp{}}
	op, err := s.prepareOutputs(ctx, sess, rec, next, idx, t, link, func() (outputSource, error) {
		data, err := fsutil.ReadFile(path, maxVersionFileSize)
		if err != nil {
			return outputSource{}, fmt.Errorf("reading %s to write its output files: %w", v.File, err)
		}
		defer clear(data)
		return decodeVersionFile(data, v.Thumbprint)
	})
	if err != nil {
		return store.Installed{}, fmt.Errorf("making %s current: %w", v.File, err)
	}
	w.out = op
	if err := w.commit(rec, next, false); err != nil {
		return store.Installed{}, fmt.Errorf("making %s current: %w", v.File, err)
	}
	in := installed(sess.dir, ref, v)
	in.Current = true
	in.Unchanged = current == want && !op.changed && !op.moves()
	if !in.Unchanged {
		s.log.Info("made installed certificate version current", op.logArgs("file", v.File, "thumbprint", in.Thumbprint, "notAfter", in.NotAfter, "link", link)...)
	}
	s.afterSwitch(sess.dir, rec, next, link, op)
	return in, nil
}

// Delete removes the recorded versions of ref named in versions and returns
// what it removed, newest first; unknown versions are skipped. A recorded
// version whose file is already gone (deleted by hand, or by a Delete that
// was killed before it saved the record) is dropped from the record and
// returned too. It refuses, before removing anything, when one of them is
// the link's target and its file exists. A link whose target is missing
// makes nothing current: deleting that version also removes the link, which
// is akvvm's and would otherwise dangle at a file no record names.
//
// The link and files go first, with one fsync of the store directory, then
// the record is saved (its data fsynced): a kill in between leaves recorded
// versions whose files are gone, which List reports and the next Delete
// drops, never a key file without a record. The records directory is not
// fsynced: if the record's rename is lost in a power failure the same holds.
func (s *Store) Delete(ctx context.Context, t store.Target, ref store.Ref, versions []string) ([]store.Installed, error) {
	for _, v := range versions {
		if err := checkVersion(v); err != nil {
			return nil, err
		}
	}
	sess, err := s.open(ctx, t, ref, certWrite, false)
	if err != nil {
		return nil, err
	}
	defer sess.release()
	rec := sess.rec
	if rec == nil {
		return nil, nil
	}
	current := linkTarget(sess.dir, rec.Link)
	var victims []versionState
	dangling := false
	for _, v := range newestFirst(&rec.certState) {
		if !slices.Contains(versions, v.Version) {
			continue
		}
		if v.File == current {
			_, err := os.Lstat(filepath.Join(sess.dir, v.File))
			switch {
			case err == nil:
				return nil, fmt.Errorf("version %s of %s/%s is current (the link %s points at it): make another version current first, then delete this one; nothing was deleted", v.Version, ref.Vault, ref.Name, filepath.Join(sess.dir, rec.Link))
			case !errors.Is(err, fs.ErrNotExist):
				return nil, fmt.Errorf("checking installed file %s: %w; nothing was deleted", filepath.Join(sess.dir, v.File), err)
			}
			dangling = true
		}
		victims = append(victims, v)
	}
	if len(victims) == 0 {
		return nil, nil
	}
	if dangling {
		// Before the record forgets the version, so a kill in between
		// leaves a link-less record Delete or Remove can finish.
		if err := s.removeLink(sess.dir, &rec.certState); err != nil {
			return nil, fmt.Errorf("deleting versions of %s/%s from %s: %w", ref.Vault, ref.Name, sess.dir, err)
		}
	}
	if rec.OutputsLink != "" {
		// The outputs link may point at a victim's directory after a kill
		// between the two link swaps; it goes before the directory does,
		// and the next MakeCurrent makes it again.
		if text, err := os.Readlink(filepath.Join(sess.dir, rec.OutputsLink)); err == nil {
			base := linkBase(sess.dir, text)
			if slices.ContainsFunc(victims, func(v versionState) bool { return v.Outputs != nil && v.Outputs.Dir == base }) {
				if err := s.removeOutputsLink(sess.dir, &rec.certState, rec.OutputsLink); err != nil {
					return nil, fmt.Errorf("deleting versions of %s/%s from %s: %w", ref.Vault, ref.Name, sess.dir, err)
				}
			}
		}
	}
	removed, gone, errs := s.deleteVersions(sess, victims, "deleted")
	if len(gone) == 0 {
		return nil, errors.Join(errs...)
	}
	next := rec.clone()
	dropVersions(&next.certState, gone)
	clearArrived(sess.dir, next, "")
	var saveErr error
	if len(next.Versions) == 0 {
		saveErr = writeRecordBytes(s.fs, sess.recDir, ref, nil)
	} else {
		_, saveErr = saveRecord(s.fs, sess.recDir, next, sess.raw)
	}
	if saveErr != nil {
		errs = append(errs, saveErr)
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("deleting versions of %s/%s from %s (%w): fix the cause and delete again", ref.Vault, ref.Name, sess.dir, err)
	}
	return removed, nil
}

// deleteVersions removes the files of versions (verb names the action in
// the log) and any temp file a killed install left for them, flushes the
// store directory once when something went, and reports which versions
// are gone. Files that are already missing count as gone.
func (s *Store) deleteVersions(sess *session, versions []versionState, verb string) (removed []store.Installed, gone map[string]bool, errs []error) {
	gone = map[string]bool{}
	for _, v := range versions {
		in := installed(sess.dir, sess.ref, v)
		// The output directory goes first: a kill in between leaves the
		// version file, which the record still names.
		if o := v.Outputs; o != nil {
			err := s.removeOutputsDir(filepath.Join(sess.dir, o.Dir))
			if err == nil && o.Pending != "" {
				err = s.removeOutputsDir(filepath.Join(sess.dir, o.Pending))
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if err := s.fs.Remove(in.Location); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("removing %s: %w", in.Location, err))
			continue
		}
		if v.Pending != "" {
			if tmp := filepath.Join(sess.dir, v.Pending); pathExists(tmp) {
				if err := s.fs.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
					errs = append(errs, fmt.Errorf("removing %s: %w", tmp, err))
					continue
				}
			}
		}
		gone[v.Version] = true
		removed = append(removed, in)
		s.log.Info(verb+" certificate version", "file", v.File, "thumbprint", v.Thumbprint, "notAfter", v.NotAfter)
	}
	if len(removed) > 0 {
		if err := syncDir(s.fs, sess.dir); err != nil {
			errs = append(errs, err)
		}
	}
	return removed, gone, errs
}

// dropVersions removes the gone versions from c.
func dropVersions(c *certState, gone map[string]bool) {
	c.Versions = slices.DeleteFunc(c.Versions, func(v versionState) bool { return gone[v.Version] })
}
