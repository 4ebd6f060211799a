package winstore

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/akvvm/akvvm/internal/store"
	"golang.org/x/sys/windows"
)

// MakeCurrent makes an installed version of ref at t current again, also
// backwards to an older version. It writes CurrentAt into the version's
// marker (strictly after every other version's time), and with
// t.LinkOnRenewal it links the version that was current to it
// (CERT_RENEWAL_PROP_ID, so that bindings follow) and clears the version's
// own renewal link. A failure midway undoes what was done. The version
// that is already current is left as it is and reported Unchanged.
func (s *Store) MakeCurrent(ctx context.Context, t store.Target, ref store.Ref, version string) (store.Installed, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := s.lockStore(ctx, t)
	if err != nil {
		return store.Installed{}, err
	}
	defer unlock()
	st, err := openSystemStore(t.Location, t.StoreName)
	if err != nil {
		return store.Installed{}, err
	}
	// Contexts are freed before their store is closed (Wine).
	es := st.managed(t, ref)
	i := slices.IndexFunc(es, func(e entry) bool { return e.rec.Version == version })
	var in store.Installed
	if i < 0 {
		err = fmt.Errorf("version %s of %s/%s is not installed by akvvm in %s: install it (akvvm sync) before making it current",
			version, ref.Vault, ref.Name, st.name)
	} else {
		in, err = s.makeCurrent(st, t, es, i)
	}
	freeEntries(es)
	if cerr := st.close(); cerr != nil && err == nil {
		err = cerr
	}
	return in, err
}

// makeCurrent makes es[i] current; es is in managed's order, so es[0] is
// the version that is current now. The caller closes (and so flushes) st.
func (s *Store) makeCurrent(st *sysStore, t store.Target, es []entry, i int) (store.Installed, error) {
	target := &es[i]
	if i == 0 {
		in := target.installed(t)
		in.Unchanged = true
		return in, nil
	}
	prev := &es[0]
	var u undo
	fail := func(err error) (store.Installed, error) {
		state := "undone, the store is as it was"
		if uerr := u.run(); uerr != nil {
			err = errors.Join(err, fmt.Errorf("undo: %w", uerr))
			state = "undoing failed, so a renewal link or the marker may be half changed"
		}
		return store.Installed{}, fmt.Errorf("make version %s of %s/%s current in %s: %w (%s): fix the cause and run again",
			target.rec.Version, target.rec.Vault, target.rec.Name, st.name, err, state)
	}
	if t.LinkOnRenewal {
		// The withdrawn version now renews to the one made current, so
		// that bindings on it follow (as Install links forwards).
		u.push(saveProperty(prev.ctx, propRenewal))
		sum := sha1.Sum(target.cert.Raw)
		if err := s.step("link"); err != nil {
			return fail(err)
		}
		if err := setBlobProperty(prev.ctx, propRenewal, sum[:]); err != nil {
			return fail(fmt.Errorf("link version %s to it: %w", prev.rec.Version, err))
		}
		st.changed = true
		// Its own link pointed at the withdrawn version: a cycle otherwise.
		if _, ok := getProperty(target.ctx, propRenewal); ok {
			u.push(saveProperty(target.ctx, propRenewal))
			if err := s.step("unlink"); err != nil {
				return fail(err)
			}
			if err := deleteProperty(target.ctx, propRenewal); err != nil {
				return fail(fmt.Errorf("clear its renewal link: %w", err))
			}
		}
	}
	rec := target.rec
	rec.CurrentAt = after(s.now().UTC(), es)
	u.push(saveProperty(target.ctx, propDescription))
	if err := s.step("marker"); err != nil {
		return fail(err)
	}
	if err := setStringProperty(target.ctx, propDescription, rec.marker()); err != nil {
		return fail(fmt.Errorf("write its marker: %w", err))
	}
	st.changed = true
	s.log.Info("made an installed certificate version current again", "store", st.name, "version", rec.Version,
		"thumbprint", target.thumb, "previous", prev.rec.Version, "renewalLink", t.LinkOnRenewal)
	target.rec, target.current, prev.current = rec, true, false
	return target.installed(t), nil
}

// after returns now, or just after the latest time any of es became
// current when now is not later: the version written now must be current.
func after(now time.Time, es []entry) time.Time {
	for _, e := range es {
		if since := e.rec.currentSince(); !now.After(since) {
			now = since.Add(time.Microsecond)
		}
	}
	return now
}

// step fails the named step when a test asks for it.
func (s *Store) step(name string) error {
	if s.fault == nil {
		return nil
	}
	return s.fault(name)
}

// Delete removes the listed versions of ref at t with their keys (unless
// another certificate in the store uses the key container; under Wine keys
// stay, as Wine shares one container per user) and returns what it
// removed. A version that is not installed is skipped; the current version
// is refused before anything is removed.
func (s *Store) Delete(ctx context.Context, t store.Target, ref store.Ref, versions []string) ([]store.Installed, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := s.lockStore(ctx, t)
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, err := openSystemStore(t.Location, t.StoreName)
	if err != nil {
		return nil, err
	}
	es := st.managed(t, ref)
	var del []int
	for i, e := range es {
		if !slices.Contains(versions, e.rec.Version) {
			continue
		}
		if e.current {
			freeEntries(es)
			_ = st.close()
			return nil, fmt.Errorf("version %s of %s/%s is the current one in %s and cannot be deleted: make another version current first; nothing was deleted",
				e.rec.Version, ref.Vault, ref.Name, st.name)
		}
		del = append(del, i)
	}
	if n := len(versions) - len(del); n > 0 {
		s.log.Debug("versions to delete that are not installed are skipped", "store", st.name, "skipped", n)
	}
	removed, err := s.deleteEntries(st, t, es, del)
	freeEntries(es)
	if cerr := st.close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if err != nil {
		return removed, fmt.Errorf("deleting versions of %s/%s from %s (%w): fix the cause and run again", ref.Vault, ref.Name, st.name, err)
	}
	return removed, nil
}

// deleteEntries removes es[i] for each i in which from st, with its key
// unless another certificate in the store still uses the key container.
// Each deleted entry's context is consumed. It goes on after a failure and
// returns every error.
func (s *Store) deleteEntries(st *sysStore, t store.Target, es []entry, which []int) ([]store.Installed, error) {
	var removed []store.Installed
	var errs []error
	for _, i := range which {
		e := &es[i]
		key, hasKey := keyProvInfo(e.ctx)
		err := windows.CertDeleteCertificateFromStore(e.ctx)
		e.ctx = nil // freed by the delete, even on failure
		if err != nil {
			errs = append(errs, fmt.Errorf("remove version %s (%s): %w", e.rec.Version, e.thumb, err))
			continue
		}
		st.changed = true
		removed = append(removed, e.installed(t))
		s.log.Info("removed certificate version", "store", st.name, "version", e.rec.Version, "thumbprint", e.thumb)
		if hasKey && !st.keyContainerInUse(key.container, nil) {
			if s.wine != "" {
				s.log.Debug("key of a removed version kept: Wine shares one key container per user", "version", e.rec.Version)
			} else if err := deleteKey(key); err != nil {
				errs = append(errs, fmt.Errorf("remove the key of version %s: %w", e.rec.Version, err))
			}
		}
	}
	return removed, errors.Join(errs...)
}
