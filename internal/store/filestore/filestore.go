// Package filestore is the Linux certificate store: a directory in the
// layout of the KeyVaultForLinux extension.
//
// Each installed version is one PEM file "<vault>.<certname>.<version>"
// (mode 0600) holding the leaf, the chain (intermediates, then the root if
// present) and the PKCS #8 private key, in that order. A symbolic link
// "<vault>.<certname>" (or the target's custom link name) holds the absolute
// path of the current version and is swapped atomically. Every write goes
// through a temp file in the same directory, fsync, rename and a directory
// fsync, so a failure leaves the files and link that were there before.
//
// akvvm records what it wrote in ".akvvm-state.json" in the store directory
// and only ever replaces or removes files recorded there: foreign files,
// even ones named like a version of an observed certificate, are left alone,
// and a link name taken by a file akvvm did not create is refused. A version
// file that is missing although recorded is reported by List with a
// *MissingFilesError; installing that version again restores it.
//
// Operations are serialised by a mutex and, on Linux, by an flock on
// ".akvvm.lock" so two akvvm processes never interleave in one directory.
// The store assumes POSIX symbolic links and rename; it compiles elsewhere
// but is only meant for Linux.
package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/akvvm/akvvm/internal/store"
)

// Clock tells the time recorded as InstalledAt.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Options configures a Store. The zero value is usable.
type Options struct {
	// Logger receives one Info line per installed or pruned version; nil
	// means slog.Default().
	Logger *slog.Logger
	// Clock stamps InstalledAt; nil means the system clock.
	Clock Clock
}

// Store is the directory store. It implements store.Store and is safe for
// concurrent use.
type Store struct {
	log   *slog.Logger
	clock Clock
	fs    fileSystem
	acl   aclApplier

	mu     sync.Mutex
	warned map[string]bool // directories already warned about
}

var _ store.Store = (*Store)(nil)

// New returns a directory store.
func New(opts Options) *Store {
	s := &Store{
		log:    opts.Logger,
		clock:  opts.Clock,
		fs:     osFS{},
		acl:    aclApplier{run: execSetfacl{}, resolve: osResolver{}},
		warned: map[string]bool{},
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.clock == nil {
		s.clock = systemClock{}
	}
	return s
}

// MissingFilesError reports recorded versions whose file is gone from the
// store directory (deleted outside akvvm). List returns it together with
// the versions that are present; installing a missing version restores it.
type MissingFilesError struct {
	Ref     store.Ref
	Missing []store.Installed
}

func (e *MissingFilesError) Error() string {
	files := make([]string, len(e.Missing))
	for i, m := range e.Missing {
		files[i] = m.Location
	}
	return fmt.Sprintf("%d installed version(s) of %s/%s are missing (deleted outside akvvm?): %s; installing the version again restores the file",
		len(e.Missing), e.Ref.Vault, e.Ref.Name, strings.Join(files, ", "))
}

// Unwrap lets callers match store.ErrMissingFiles.
func (e *MissingFilesError) Unwrap() error { return store.ErrMissingFiles }

// openDir checks dir and, when create is set, creates it with mode 0700.
// It reports whether dir exists. An existing directory keeps its mode, but
// a warning is logged once if group or others may write to it.
func (s *Store) openDir(dir string, create bool) (bool, error) {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if !create {
			return false, nil
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return false, fmt.Errorf("creating certificate store %s: %w", dir, err)
		}
		// MkdirAll is subject to the umask; make the mode exact.
		if err := os.Chmod(dir, 0o700); err != nil {
			return false, fmt.Errorf("setting mode 0700 on certificate store %s: %w", dir, err)
		}
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking certificate store %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("certificate store %s is not a directory: point certificateStoreLocation at a directory", dir)
	}
	if fi.Mode().Perm()&0o022 != 0 && !s.warned[dir] {
		s.warned[dir] = true
		s.log.Warn("certificate store directory is writable by group or others; restrict it, for example with chmod 700",
			"dir", dir, "mode", fi.Mode().Perm().String())
	}
	return true, nil
}

// installed converts a record to the public type.
func installed(dir string, ref store.Ref, v versionState) store.Installed {
	return store.Installed{
		Ref:         ref,
		Version:     v.Version,
		Thumbprint:  v.Thumbprint,
		NotAfter:    v.NotAfter,
		InstalledAt: v.InstalledAt,
		Location:    filepath.Join(dir, v.File),
	}
}

// newestFirst returns the versions ordered newest first: by InstalledAt,
// ties broken by install order (later is newer).
func newestFirst(c *certState) []versionState {
	type indexed struct {
		v versionState
		i int
	}
	all := make([]indexed, len(c.Versions))
	for i, v := range c.Versions {
		all[i] = indexed{v, i}
	}
	slices.SortStableFunc(all, func(a, b indexed) int {
		if n := b.v.InstalledAt.Compare(a.v.InstalledAt); n != 0 {
			return n
		}
		return b.i - a.i
	})
	out := make([]versionState, len(all))
	for i, x := range all {
		out[i] = x.v
	}
	return out
}

// List returns the versions of ref that akvvm installed at t, newest first.
// Versions whose file is missing are left out of the slice and reported
// with a *MissingFilesError; the slice is valid in that case too. List does
// not take the directory lock: the state file is replaced atomically, so it
// always reads a consistent record.
func (s *Store) List(ctx context.Context, t store.Target, ref store.Ref) ([]store.Installed, error) {
	dir, _, c, release, err := s.openRecord(ctx, t, ref, false)
	if err != nil {
		return nil, err
	}
	defer release()
	if c == nil {
		return nil, nil
	}
	var present, missing []store.Installed
	for _, v := range newestFirst(c) {
		in := installed(dir, ref, v)
		fi, err := os.Lstat(in.Location)
		switch {
		case err == nil && fi.Mode().IsRegular():
			present = append(present, in)
		case err == nil || errors.Is(err, fs.ErrNotExist):
			missing = append(missing, in)
		default:
			return nil, fmt.Errorf("checking installed file %s: %w", in.Location, err)
		}
	}
	if len(missing) > 0 {
		return present, &MissingFilesError{Ref: ref, Missing: missing}
	}
	return present, nil
}
