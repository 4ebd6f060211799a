package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/akvvm/akvvm/internal/fsutil"
	"github.com/akvvm/akvvm/internal/store"
)

// access says which locks an operation on one certificate takes.
type access int

const (
	// readOnly takes no lock: records are replaced by rename, so a reader
	// always sees a whole one (List).
	readOnly access = iota
	// certWrite takes the certificate's mutex, the shared directory lock
	// and the certificate's lock file (Install, MakeCurrent, Delete).
	certWrite
	// dirWrite takes the certificate's mutex and the exclusive directory
	// lock, because it may remove akvvm's shared files (Remove).
	dirWrite
)

// session is one operation on one certificate's record.
type session struct {
	dir    string
	recDir string
	ref    store.Ref
	// rec is the certificate's record, nil when there is none; raw is its
	// file content, nil when there is none.
	rec *record
	raw []byte
	// release drops the locks; it is always set.
	release func()
	// dirLocked is set when the exclusive directory lock is held.
	dirLocked bool
}

// open checks the arguments, takes the locks mode asks for and loads ref's
// record at t. A missing directory or record gives a nil record. With
// create, the store and records directories are made when missing.
func (s *Store) open(ctx context.Context, t store.Target, ref store.Ref, mode access, create bool) (*session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkRef(ref); err != nil {
		return nil, err
	}
	dir, err := checkLocation(t.Location)
	if err != nil {
		return nil, err
	}
	sess := &session{dir: dir, recDir: filepath.Join(dir, recordsDirName), ref: ref, release: func() {}}
	var unlocks []func()
	sess.release = func() {
		for i := len(unlocks) - 1; i >= 0; i-- {
			unlocks[i]()
		}
	}
	fail := func(err error) (*session, error) {
		sess.release()
		return nil, err
	}
	if mode != readOnly {
		unlocks = append(unlocks, s.lockRef(dir, ref))
	}
	ok, err := s.openDir(dir, create)
	if err != nil || !ok {
		if err != nil {
			return fail(err)
		}
		return sess, nil
	}
	if err := s.migrate(ctx, dir); err != nil {
		return fail(err)
	}
	// The directory lock comes before the records directory is checked:
	// Remove of the last certificate deletes that directory under the
	// exclusive lock.
	switch mode {
	case certWrite:
		unlock, err := lockDirShared(ctx, dir)
		if err != nil {
			return fail(err)
		}
		unlocks = append(unlocks, unlock)
	case dirWrite:
		unlock, err := lockDir(ctx, dir)
		if err != nil {
			return fail(err)
		}
		unlocks = append(unlocks, unlock)
		sess.dirLocked = true
	}
	haveRecords, err := checkRecordsDir(dir)
	if err != nil {
		return fail(err)
	}
	if !haveRecords && create {
		if err := s.makeRecordsDir(dir); err != nil {
			return fail(err)
		}
		haveRecords = true
	}
	if mode == certWrite && haveRecords {
		unlock, err := lockCert(ctx, sess.recDir, certLockFileName(ref))
		if err != nil {
			return fail(err)
		}
		unlocks = append(unlocks, unlock)
	}
	if !haveRecords {
		return sess, nil
	}
	sess.rec, sess.raw, err = loadRecord(sess.recDir, ref)
	if err != nil {
		return fail(err)
	}
	return sess, nil
}

// makeRecordsDir creates dir's records directory with mode 0700 and
// flushes dir, once in the life of a store directory, so the records
// directory is durable before any record in it matters.
func (s *Store) makeRecordsDir(dir string) error {
	p := filepath.Join(dir, recordsDirName)
	if err := s.fs.Mkdir(p, 0o700); err != nil {
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("creating akvvm's records directory %s: %w", p, err)
		}
		// Another process made it meanwhile.
		_, err := checkRecordsDir(dir)
		return err
	}
	// Mkdir is subject to the umask; make the mode exact, without
	// following a link swapped in since.
	if err := fsutil.ChmodDir(p, 0o700); err != nil {
		return fmt.Errorf("making akvvm's records directory private: %w", err)
	}
	return syncDir(s.fs, dir)
}

// lockRef takes the in-process mutex of ref in dir and returns its unlock.
// Mutexes are created on demand and dropped when nobody holds or waits.
func (s *Store) lockRef(dir string, ref store.Ref) func() {
	key := dir + "\x00" + certBase(ref)
	s.mu.Lock()
	m := s.refs[key]
	if m == nil {
		m = &refMutex{}
		s.refs[key] = m
	}
	m.users++
	s.mu.Unlock()
	m.Lock()
	return func() {
		m.Unlock()
		s.mu.Lock()
		if m.users--; m.users == 0 {
			delete(s.refs, key)
		}
		s.mu.Unlock()
	}
}
