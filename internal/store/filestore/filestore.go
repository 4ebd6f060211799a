// Package filestore is the Linux certificate store: a directory in the
// layout of the KeyVaultForLinux extension.
//
// Each installed version is one PEM file "<vault>.<certname>.<version>"
// (mode 0600) holding the leaf, the chain (intermediates, then the root if
// present) and the PKCS #8 private key, in that order. A symbolic link
// "<vault>.<certname>" (or the target's custom link name) holds the absolute
// path of the current version and is swapped atomically.
//
// akvvm records what it wrote per certificate, in the hidden directory
// ".akvvm-records": "<vault>.<certname>.json" lists the version files and
// the link, and akvvm only ever replaces or removes files recorded there.
// Foreign files, even ones named like a version of an observed certificate,
// are left alone, and a link name taken by a file akvvm did not create is
// refused. A version file that is missing although recorded is reported by
// List with a *store.MissingFilesError; installing that version again restores it.
// Every operation reads one record and the files it names, so its cost does
// not grow with the number of certificates.
//
// A new version is written to a temp file (fsync), then recorded as pending
// (fsync of the record and the records directory), then renamed into place,
// the link swapped and the store directory fsynced once: a version file is
// never on disk without its record. Recover removes what a killed process
// left (temp files, pending versions whose file never arrived) and makes a
// link that a killed first install did not make.
//
// With store.Target.Outputs, each version also gets a directory
// "<vault>.<certname>.<version>.d" of separate files and the link
// "<link>.d" points at the current one, switched with the link (see
// outputs.go); with Target.RelativeLinks the links hold names instead of
// absolute paths.
//
// Locks: a mutex per certificate within the process; across processes a
// shared flock on ".akvvm.lock" plus an exclusive flock on the certificate's
// "<vault>.<certname>.lock" in the records directory. Whole-directory work
// (migration of the old ".akvvm-state.json", Recover, Remove) takes
// ".akvvm.lock" exclusively. List takes no lock. The store assumes POSIX
// symbolic links, rename and flock; it compiles elsewhere but is only meant
// for Linux.
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
	"sync"
	"time"

	"github.com/akvvm/akvvm/internal/fsutil"
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
	// Logger receives one Info line per installed, deleted or removed version; nil
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

	mu     sync.Mutex           // guards the maps below, never held across I/O
	warned map[string]bool      // directories already warned about
	refs   map[string]*refMutex // per-certificate mutexes in use, by dir and ref
}

// refMutex serialises the operations on one certificate in one directory.
type refMutex struct {
	sync.Mutex
	users int // holders and waiters
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
		refs:   map[string]*refMutex{},
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.clock == nil {
		s.clock = systemClock{}
	}
	return s
}

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
		// MkdirAll is subject to the umask; make the mode exact, without
		// following a link swapped in since.
		if err := fsutil.ChmodDir(dir, 0o700); err != nil {
			return false, fmt.Errorf("making certificate store %s private: %w", dir, err)
		}
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking certificate store %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("certificate store %s is not a directory: point certificateStoreLocation at a directory", dir)
	}
	s.mu.Lock()
	warn := fi.Mode().Perm()&0o022 != 0 && !s.warned[dir]
	if warn {
		s.warned[dir] = true
	}
	s.mu.Unlock()
	if warn {
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
		NotBefore:   v.NotBefore,
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

// List returns the versions of ref that akvvm installed at t: the link's
// target first (Current set), then the others newest first. Versions whose
// file is missing are left out of the slice and reported with a
// *store.MissingFilesError; the slice is valid in that case too. A pending
// version whose temp file is still there (being installed, or left by a
// killed process for Recover) is not listed.
//
// List reads only ref's record, its files and its link, and takes no lock.
// Only when a file seems missing does it look again under the
// certificate's locks, since a Delete or Remove running at the same time
// takes files before it updates the record.
func (s *Store) List(ctx context.Context, t store.Target, ref store.Ref) ([]store.Installed, error) {
	present, missing, err := s.list(ctx, t, ref, readOnly)
	if err == nil && len(missing) > 0 {
		present, missing, err = s.list(ctx, t, ref, certWrite)
	}
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		return present, &store.MissingFilesError{Ref: ref, Missing: missing}
	}
	return present, nil
}

// list reads ref's record with the locks mode asks for and sorts its
// versions into present and missing ones.
func (s *Store) list(ctx context.Context, t store.Target, ref store.Ref, mode access) (present, missing []store.Installed, err error) {
	sess, err := s.open(ctx, t, ref, mode, false)
	if err != nil {
		return nil, nil, err
	}
	defer sess.release()
	rec := sess.rec
	if rec == nil {
		return nil, nil, nil
	}
	current := linkTarget(sess.dir, rec.Link)
	link, err := linkName(t, ref)
	if err != nil {
		return nil, nil, err
	}
	for _, v := range newestFirst(&rec.certState) {
		in := installed(sess.dir, ref, v)
		fi, err := os.Lstat(in.Location)
		switch {
		case err == nil && fi.Mode().IsRegular():
			// With output files or relative links, the version is
			// current only once the layout is what t asks for, so the
			// agent makes it current (again) when it is not.
			in.Current = v.File == current && layoutCurrent(sess.dir, rec, v, t, link)
			if in.Current {
				present = slices.Insert(present, 0, in)
			} else {
				present = append(present, in)
			}
		case err == nil || errors.Is(err, fs.ErrNotExist):
			if v.Pending != "" && pathExists(filepath.Join(sess.dir, v.Pending)) {
				continue
			}
			missing = append(missing, in)
		default:
			return nil, nil, fmt.Errorf("checking installed file %s: %w", in.Location, err)
		}
	}
	return present, missing, nil
}

// linkTarget returns the base name of the file dir/link points at when it
// is a symbolic link into dir (absolute or relative), else "".
func linkTarget(dir, link string) string {
	if link == "" {
		return ""
	}
	target, err := os.Readlink(filepath.Join(dir, link))
	if err != nil {
		return ""
	}
	return linkBase(dir, target)
}

// layoutCurrent reports whether the links of version v (the target of
// rec.Link) hold what t asks for: the link's text absolute or relative as
// t.RelativeLinks says, and the output files as outputsCurrent checks. A
// version of the default layout costs nothing more than before.
func layoutCurrent(dir string, rec *record, v versionState, t store.Target, link string) bool {
	if (t.RelativeLinks || rec.RelativeLinks) && rec.Link == link {
		text, err := os.Readlink(filepath.Join(dir, link))
		if err != nil || text != linkText(dir, v.File, t.RelativeLinks) {
			return false
		}
	}
	return outputsCurrent(dir, rec, v, t, link)
}

// pathExists reports whether path names anything (not following links).
func pathExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
