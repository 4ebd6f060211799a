package filestore

import (
	"bytes"
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

// Install writes c as "<vault>.<certname>.<version>" in t.Location and
// points the link at it. Installing a version whose file already holds the
// same content writes nothing (unless new ACLs must be granted or the link
// must move) and returns its record. On failure the files, link and record
// that were there before are left as they were.
//
// A new version costs four fsyncs, the fewest that keep it durable with no
// moment where its file could be on disk without its record: the version's
// temp file, the record's temp file, the records directory (so the record
// is durable before the version file can be), and once the file is renamed
// and the link swapped, the store directory. The first install into a
// directory adds one for the new records directory. An unchanged Install
// writes and fsyncs nothing.
func (s *Store) Install(ctx context.Context, t store.Target, c store.Certificate) (store.Installed, error) {
	if err := ctx.Err(); err != nil {
		return store.Installed{}, err
	}
	ref := c.Ref
	if err := checkRef(ref); err != nil {
		return store.Installed{}, err
	}
	if err := checkVersion(c.Version); err != nil {
		return store.Installed{}, err
	}
	if _, err := checkLocation(t.Location); err != nil {
		return store.Installed{}, err
	}
	link, err := linkName(t, ref)
	if err != nil {
		return store.Installed{}, err
	}
	fileName := versionFileName(ref, c.Version)
	if link == fileName {
		return store.Installed{}, fmt.Errorf("symbolic link name %q equals the version file name: choose another customSymbolicLinkName", link)
	}
	wantACLs, err := aclKeys(t.ACLs)
	if err != nil {
		return store.Installed{}, err
	}
	data, err := encodePEM(c)
	if err != nil {
		return store.Installed{}, fmt.Errorf("installing %s/%s version %s: %w", ref.Vault, ref.Name, c.Version, err)
	}
	defer clear(data)

	sess, err := s.open(ctx, t, ref, certWrite, true)
	if err != nil {
		return store.Installed{}, err
	}
	defer sess.release()
	rec := sess.rec
	if rec == nil {
		rec = newRecord(ref)
	}
	dir := sess.dir
	path := filepath.Join(dir, fileName)
	current, err := s.checkLink(sess, rec, link, fileName)
	if err != nil {
		return store.Installed{}, err
	}
	idx := rec.version(c.Version)
	exists, same, err := compareFile(path, data)
	if err != nil {
		return store.Installed{}, err
	}
	if exists && !same && idx < 0 {
		return store.Installed{}, fmt.Errorf("%s exists but akvvm did not write it and its content differs: move it away so akvvm can install this version", path)
	}
	want := linkText(dir, fileName, t.RelativeLinks)
	w := &installWrite{s: s, sess: sess, link: link, path: path, want: want, current: current, created: !exists, out: &outputsOp{}}
	write := !exists || !same
	if write {
		if exists {
			s.log.Warn("installed file differs from what akvvm wrote; rewriting it", "file", fileName)
		}
		if w.tmp, err = writeTemp(s.fs, dir, tempPattern(ref), data); err != nil {
			return store.Installed{}, fmt.Errorf("installing %s: %w", fileName, err)
		}
	}

	var have []string
	if idx >= 0 && !write {
		have = rec.Versions[idx].ACLs
	}
	if len(wantACLs) > 0 && !isSubset(wantACLs, have) {
		// A new file gets its ACLs as a temp file, so they arrive with it.
		target := path
		if write {
			target = w.tmp
		}
		if err := s.acl.apply(ctx, dir, target, wantACLs); err != nil {
			w.rollback()
			return store.Installed{}, fmt.Errorf("installing %s: %w", fileName, err)
		}
		have = union(have, wantACLs)
	}

	next := rec.clone()
	if idx < 0 {
		next.Versions = append(next.Versions, versionState{
			Version:     c.Version,
			File:        fileName,
			InstalledAt: s.clock.Now().UTC().Round(0),
		})
		idx = len(next.Versions) - 1
	}
	v := &next.Versions[idx]
	v.Thumbprint = thumbprint(c.Leaf)
	v.NotBefore = c.Leaf.NotBefore.UTC()
	v.NotAfter = c.Leaf.NotAfter.UTC()
	v.ACLs = have
	if write {
		v.Pending = filepath.Base(w.tmp)
	}
	next.Link = link
	op, err := s.prepareOutputs(ctx, sess, rec, next, idx, t, link, func() (outputSource, error) { return sourceOf(c), nil })
	if err != nil {
		w.rollback()
		return store.Installed{}, fmt.Errorf("installing %s: %w", fileName, err)
	}
	w.out = op
	if err := w.commit(rec, next, write); err != nil {
		return store.Installed{}, fmt.Errorf("installing %s: %w", fileName, err)
	}

	in := installed(dir, ref, *v)
	in.Current = true
	in.Unchanged = !write && current == want && !op.changed && !op.moves()
	switch {
	case write:
		s.log.Info("installed certificate version", op.logArgs("file", fileName, "thumbprint", in.Thumbprint, "notAfter", in.NotAfter, "link", link)...)
	case !in.Unchanged:
		s.log.Info("made installed certificate version current", op.logArgs("file", fileName, "thumbprint", in.Thumbprint, "notAfter", in.NotAfter, "link", link)...)
	}
	s.afterSwitch(dir, rec, next, link, op)
	return in, nil
}

// installWrite carries out the writes of one Install (or MakeCurrent) in
// crash-safe order and undoes them on failure.
type installWrite struct {
	s       *Store
	sess    *session
	link    string // link name
	path    string // version file path
	want    string // the text the link must hold: path, or its base name
	current string // link text before, "" if there was no link
	created bool   // the version file did not exist before
	tmp     string // temp file holding the new content, "" if none
	out     *outputsOp

	recSaved, renamed, swapped bool
}

// commit saves next unless it encodes like the record read (then nothing
// is written), renames the temp file (and a new output directory) into
// place when write is set, points the outputs link at the version's
// output directory, then the link at the version file, and fsyncs the
// store directory once.
func (w *installWrite) commit(rec, next *record, write bool) error {
	s, sess := w.s, w.sess
	data, err := next.encode()
	if err != nil {
		w.rollback()
		return err
	}
	if !bytes.Equal(data, sess.raw) {
		// Clear pending flags of versions whose file arrived since: the
		// record is written anyway, so this costs nothing extra.
		except := ""
		if write {
			except = filepath.Base(w.path)
		}
		clearArrived(sess.dir, next, except)
		w.recSaved = true
		if _, err := saveRecord(s.fs, sess.recDir, next, nil); err != nil {
			w.rollback()
			return err
		}
		if err := syncDir(s.fs, sess.recDir); err != nil {
			w.rollback()
			return err
		}
	}
	if write {
		if err := s.fs.Rename(w.tmp, w.path); err != nil {
			w.rollback()
			return fmt.Errorf("renaming %s to %s: %w", w.tmp, filepath.Base(w.path), err)
		}
		w.renamed = true
	}
	if o := w.out; o.tmp != "" {
		if err := s.fs.Rename(o.tmp, o.path); err != nil {
			w.rollback()
			return fmt.Errorf("renaming %s to %s: %w", o.tmp, filepath.Base(o.path), err)
		}
		o.renamed = true
	}
	if o := w.out; o.link != "" && o.current != o.want {
		o.swapped = true
		if err := swapLink(s.fs, sess.dir, o.link, o.want); err != nil {
			w.rollback()
			return err
		}
	}
	if w.current != w.want {
		w.swapped = true
		if err := swapLink(s.fs, sess.dir, w.link, w.want); err != nil {
			w.rollback()
			return err
		}
	}
	if w.renamed || w.swapped || w.out.renamed || w.out.swapped {
		if err := syncDir(s.fs, sess.dir); err != nil {
			w.rollback()
			return err
		}
	}
	return nil
}

// rollback undoes what commit did, newest first, best effort. A new file
// goes back to its temp name before the record is restored, so a kill
// halfway leaves a pending version with its temp file, which Recover
// removes, never a version file without a record.
func (w *installWrite) rollback() {
	s, sess := w.s, w.sess
	linkPath := filepath.Join(sess.dir, w.link)
	if w.swapped {
		if w.current == "" {
			_ = s.fs.Remove(linkPath)
		} else if err := swapLink(s.fs, sess.dir, w.link, w.current); err != nil {
			s.log.Error("restoring symbolic link failed", "link", linkPath, "target", w.current, "err", err)
		}
	}
	o := w.out
	if o.swapped {
		if o.current == "" {
			_ = s.fs.Remove(filepath.Join(sess.dir, o.link))
		} else if err := swapLink(s.fs, sess.dir, o.link, o.current); err != nil {
			s.log.Error("restoring symbolic link failed", "link", o.link, "target", o.current, "err", err)
		}
	}
	if o.renamed {
		if err := s.fs.Rename(o.path, o.tmp); err != nil {
			_ = s.removeOutputsDir(o.path)
		}
	}
	if w.renamed && w.created {
		if err := s.fs.Rename(w.path, w.tmp); err != nil {
			_ = s.fs.Remove(w.path)
		}
	}
	if w.recSaved {
		if err := writeRecordBytes(s.fs, sess.recDir, sess.ref, sess.raw); err != nil {
			s.log.Error("restoring the certificate's record failed", "dir", sess.recDir, "err", err)
		}
		_ = s.fs.SyncDir(sess.recDir)
	}
	if w.tmp != "" {
		_ = s.fs.Remove(w.tmp)
	}
	if o.tmp != "" {
		_ = s.removeOutputsDir(o.tmp)
	}
	if w.swapped || w.renamed || o.swapped || o.renamed {
		_ = s.fs.SyncDir(sess.dir)
	}
}

// afterSwitch removes, once the links point at the new version, the links
// of a previous link name.
func (s *Store) afterSwitch(dir string, rec, next *record, link string, op *outputsOp) {
	if rec.Link != "" && rec.Link != link {
		s.removeOldLink(dir, rec.Link, &next.certState)
	}
	if op.oldLink != "" {
		if err := s.removeOutputsLink(dir, &next.certState, op.oldLink); err != nil {
			s.log.Warn("removing the previous outputs link failed; remove it by hand", "link", op.oldLink, "err", err)
		}
	}
}

// checkLink refuses a link name taken by something akvvm did not create and
// returns the link's current target ("" if there is no link). An unrecorded
// symbolic link is accepted only when it points at a version file of this
// certificate: akvvm stopped between swapping the link and saving its
// record. A link pointing at another certificate's file is looked up in
// that certificate's record only, so the check stays O(1).
func (s *Store) checkLink(sess *session, rec *record, link, newFile string) (string, error) {
	dir := sess.dir
	linkPath := filepath.Join(dir, link)
	fi, err := os.Lstat(linkPath)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("checking symbolic link %s: %w", linkPath, err)
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		return "", fmt.Errorf("%s exists and is not a symbolic link akvvm created: move it away or set customSymbolicLinkName to another name", linkPath)
	}
	current, err := os.Readlink(linkPath)
	if err != nil {
		return "", fmt.Errorf("reading symbolic link %s: %w", linkPath, err)
	}
	if rec.Link == link {
		return current, nil
	}
	if base := linkBase(dir, current); base != "" {
		if base == newFile || rec.versionOf(base) != "" {
			return current, nil
		}
		if owner, _, ok := refOfFile(base); ok && owner != sess.ref {
			if other, _, err := loadRecord(sess.recDir, owner); err == nil && other != nil && other.Link == link {
				return "", fmt.Errorf("symbolic link %s is already used by akvvm for %s/%s: give each certificate its own customSymbolicLinkName", linkPath, owner.Vault, owner.Name)
			}
		}
	}
	return "", fmt.Errorf("symbolic link %s -> %s was not created by akvvm: move it away or set customSymbolicLinkName to another name", linkPath, current)
}

// compareFile reports whether path exists and holds exactly data.
func compareFile(path string, data []byte) (exists, same bool, err error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("checking %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return true, false, fmt.Errorf("%s exists and is not a regular file: move it away so akvvm can install this version", path)
	}
	if fi.Size() != int64(len(data)) {
		return true, false, nil
	}
	// The read does not follow a link or open a pipe swapped in since the
	// Lstat, and a file grown since is simply not the same.
	old, err := fsutil.ReadFile(path, int64(len(data)))
	if errors.Is(err, fsutil.ErrTooLarge) {
		return true, false, nil
	}
	if err != nil {
		return true, false, fmt.Errorf("comparing with the installed file: %w", err)
	}
	defer clear(old)
	return true, bytes.Equal(old, data), nil
}

// regularFile reports whether path is a regular file (not following links).
func regularFile(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode().IsRegular()
}

// removeOldLink removes a link akvvm made under a previous link name, if it
// is still a symbolic link to one of this certificate's files.
func (s *Store) removeOldLink(dir, name string, cs *certState) {
	p := filepath.Join(dir, name)
	fi, err := os.Lstat(p)
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return
	}
	target, err := os.Readlink(p)
	if err != nil || cs.versionOf(linkBase(dir, target)) == "" {
		return
	}
	if err := s.fs.Remove(p); err != nil {
		s.log.Warn("removing the previous symbolic link failed; remove it by hand", "link", p, "err", err)
		return
	}
	s.log.Warn("customSymbolicLinkName changed, so the previous link was removed; if another akvvm process observes this certificate here with other settings, the two replace each other's link: give both the same customSymbolicLinkName", "removed", name)
}

// versionOf returns the version recorded for file, or "".
func (c *certState) versionOf(file string) string {
	for _, v := range c.Versions {
		if v.File == file {
			return v.Version
		}
	}
	return ""
}

func isSubset(sub, set []string) bool {
	for _, x := range sub {
		if !slices.Contains(set, x) {
			return false
		}
	}
	return true
}

func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}
