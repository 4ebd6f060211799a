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

	"github.com/akvvm/akvvm/internal/store"
)

// Install writes c as "<vault>.<certname>.<version>" in t.Location and
// points the link at it. Installing a version whose file already holds the
// same content writes nothing (unless new ACLs must be granted or the link
// must move) and returns its record. On failure the files, link and state
// that were there before are left as they were.
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
	dir, err := checkLocation(t.Location)
	if err != nil {
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

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.openDir(dir, true); err != nil {
		return store.Installed{}, err
	}
	unlock, err := lockDir(ctx, dir)
	if err != nil {
		return store.Installed{}, err
	}
	defer unlock()
	st, raw, err := loadState(dir)
	if err != nil {
		return store.Installed{}, err
	}
	cs := st.cert(ref)
	if cs == nil {
		st.Certificates = append(st.Certificates, certState{Vault: ref.Vault, Name: ref.Name})
		cs = &st.Certificates[len(st.Certificates)-1]
	}
	path := filepath.Join(dir, fileName)
	linkPath := filepath.Join(dir, link)

	current, err := checkLink(st, cs, dir, link, fileName)
	if err != nil {
		return store.Installed{}, err
	}
	idx := cs.version(c.Version)
	exists, same, err := compareFile(path, data)
	if err != nil {
		return store.Installed{}, err
	}
	if exists && !same && idx < 0 {
		return store.Installed{}, fmt.Errorf("%s exists but akvvm did not write it and its content differs: move it away so akvvm can install this version", path)
	}
	write := !exists || !same
	created := false
	if write {
		if exists {
			s.log.Warn("installed file differs from what akvvm wrote; rewriting it", "file", fileName)
		}
		if err := writeAtomic(s.fs, dir, fileName, data); err != nil {
			if !exists {
				// The rename may have happened before a failed directory sync.
				_ = s.fs.Remove(path)
			}
			return store.Installed{}, fmt.Errorf("installing %s: %w", fileName, err)
		}
		created = !exists
	}
	// rollback undoes this call's changes, newest first, best effort.
	var swapped, stateSaved bool
	rollback := func() {
		if swapped {
			if current == "" {
				_ = s.fs.Remove(linkPath)
			} else if err := swapLink(s.fs, dir, link, current); err != nil {
				s.log.Error("restoring symbolic link failed", "link", linkPath, "target", current, "err", err)
			}
		}
		if stateSaved {
			if err := saveState(s.fs, dir, raw); err != nil {
				s.log.Error("restoring store state failed", "dir", dir, "err", err)
			}
		}
		if created {
			_ = s.fs.Remove(path)
			_ = s.fs.SyncDir(dir)
		}
	}

	var have []string
	if idx >= 0 && !write {
		have = cs.Versions[idx].ACLs
	}
	if len(wantACLs) > 0 && !isSubset(wantACLs, have) {
		if err := s.acl.apply(ctx, dir, path, wantACLs); err != nil {
			rollback()
			return store.Installed{}, fmt.Errorf("installing %s: %w", fileName, err)
		}
		have = union(have, wantACLs)
	}

	if idx < 0 {
		cs.Versions = append(cs.Versions, versionState{
			Version:     c.Version,
			File:        fileName,
			InstalledAt: s.clock.Now().UTC().Round(0),
		})
		idx = len(cs.Versions) - 1
	}
	v := &cs.Versions[idx]
	v.Thumbprint = thumbprint(c.Leaf)
	v.NotAfter = c.Leaf.NotAfter.UTC()
	v.ACLs = have
	prevLink := cs.Link
	cs.Link = link
	newRaw, err := st.encode()
	if err != nil {
		rollback()
		return store.Installed{}, err
	}
	if !bytes.Equal(newRaw, raw) {
		stateSaved = true
		if err := saveState(s.fs, dir, newRaw); err != nil {
			rollback()
			return store.Installed{}, fmt.Errorf("installing %s: %w", fileName, err)
		}
	}
	if current != path {
		swapped = true
		if err := swapLink(s.fs, dir, link, path); err != nil {
			rollback()
			return store.Installed{}, fmt.Errorf("installing %s: %w", fileName, err)
		}
	}

	rec := installed(dir, ref, *v)
	switch {
	case write:
		s.log.Info("installed certificate version", "file", fileName, "thumbprint", rec.Thumbprint, "notAfter", rec.NotAfter, "link", link)
	case current != path:
		s.log.Info("made installed certificate version current", "file", fileName, "thumbprint", rec.Thumbprint, "notAfter", rec.NotAfter, "link", link)
	}
	if prevLink != "" && prevLink != link {
		s.removeOldLink(dir, prevLink, cs)
	}
	return rec, nil
}

// checkLink refuses a link name taken by something akvvm did not create and
// returns the link's current target ("" if there is no link). An unrecorded
// symbolic link is accepted only when it points at a version file of this
// certificate: akvvm stopped between swapping the link and saving its state.
func checkLink(st *state, cs *certState, dir, link, newFile string) (string, error) {
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
	if owner, ok := st.ownerOfLink(link); ok {
		if owner == cs.ref() {
			return current, nil
		}
		return "", fmt.Errorf("symbolic link %s is already used by akvvm for %s/%s: give each certificate its own customSymbolicLinkName", linkPath, owner.Vault, owner.Name)
	}
	if filepath.Dir(current) == dir {
		base := filepath.Base(current)
		if owner, ok := st.ownsFile(base); base == newFile || (ok && owner == cs.ref()) {
			return current, nil
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
	old, err := os.ReadFile(path)
	if err != nil {
		return true, false, fmt.Errorf("reading %s: %w", path, err)
	}
	defer clear(old)
	return true, bytes.Equal(old, data), nil
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
	if err != nil || filepath.Dir(target) != dir || cs.version(versionOf(cs, filepath.Base(target))) < 0 {
		return
	}
	if err := s.fs.Remove(p); err != nil {
		s.log.Warn("removing the previous symbolic link failed; remove it by hand", "link", p, "err", err)
		return
	}
	s.log.Info("removed previous symbolic link after a link name change", "link", name)
}

// versionOf returns the version recorded for file, or "".
func versionOf(cs *certState, file string) string {
	for _, v := range cs.Versions {
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
