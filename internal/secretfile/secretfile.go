// Package secretfile writes plain Key Vault secrets to files (Linux,
// observedSecrets) and remembers, per file, which version it wrote. Every
// write is atomic and the file has its owner and mode before it appears at
// its path. No function here logs, returns or stores a secret's value.
package secretfile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/akvvm/akvvm/internal/fsutil"
)

// DefaultMode is the mode of a secret file when the settings give none.
const DefaultMode fs.FileMode = 0o600

// Target is where one observed secret is written.
type Target struct {
	// URL is the observed secret's URL as configured (no version).
	URL string
	// Path is the file's absolute path.
	Path string
	// Mode is the file's permission bits.
	Mode fs.FileMode
	// Owner and Group are names or numeric ids; empty keeps what the
	// process creates files as.
	Owner, Group string
}

// Record is what akvvm wrote at a target: the version and the file as it
// left it, so a file changed or removed outside akvvm is written again.
// It never holds the value or anything derived from it.
type Record struct {
	URL         string    `json:"url"`
	Path        string    `json:"path"`
	Version     string    `json:"version"`
	InstalledAt time.Time `json:"installedAt"`
	// NotAfter is the version's expiry in the vault; zero when it has none.
	NotAfter time.Time `json:"notAfter,omitzero"`
	// File is the written file's identity (device, inode, size, mtime).
	File fileID `json:"file"`
}

// fileID tells the file akvvm wrote from one written or replaced since.
type fileID struct {
	Dev     uint64 `json:"dev,omitempty"`
	Ino     uint64 `json:"ino,omitempty"`
	Size    int64  `json:"size"`
	ModTime int64  `json:"mtimeNs"`
}

// Files writes secret files and keeps their records in a directory of its
// own (the agent's <state dir>/secrets), one small file per target, so
// each operation costs the same however many secrets there are.
type Files struct {
	dir string
}

// New returns the writer whose records live in dir.
func New(dir string) *Files { return &Files{dir: dir} }

// recordPath is the record of t: a hash of its URL and path, so the same
// secret written to two files has two records.
func (f *Files) recordPath(t Target) string {
	h := sha256.Sum256([]byte(t.URL + "\x00" + t.Path))
	return filepath.Join(f.dir, hex.EncodeToString(h[:12])+".json")
}

// Current returns the record of what akvvm wrote at t, and stale, which
// says why the file must be written again ("" while it is as akvvm left
// it and as t wants it): missing, replaced or edited outside akvvm, or its
// mode or owner not the ones t asks for. ok is false when akvvm never
// wrote t.
func (f *Files) Current(t Target) (rec Record, ok bool, stale string, err error) {
	data, err := fsutil.ReadFile(f.recordPath(t), 64<<10)
	if errors.Is(err, fs.ErrNotExist) {
		return Record{}, false, "", nil
	}
	if err != nil {
		return Record{}, false, "", fmt.Errorf("read the record of secret file %s: %w", t.Path, err)
	}
	if err := json.Unmarshal(data, &rec); err != nil || rec.Version == "" || rec.Path != t.Path {
		// A broken record is as good as none: the file is written again.
		return Record{}, false, "", nil
	}
	stale, err = staleness(t, rec)
	return rec, true, stale, err
}

// staleness compares the file at t.Path with rec and t.
func staleness(t Target, rec Record) (string, error) {
	fi, err := os.Lstat(t.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return "the file is missing (removed outside akvvm?)", nil
	}
	if err != nil {
		return "", fmt.Errorf("check secret file %s: %w", t.Path, err)
	}
	if !fi.Mode().IsRegular() {
		return "the path is no longer the file akvvm wrote", nil
	}
	if got := identify(fi); got != rec.File {
		return "the file was changed or replaced outside akvvm", nil
	}
	if fi.Mode().Perm() != t.Mode.Perm() {
		return fmt.Sprintf("its mode is %04o, the settings ask for %04o", fi.Mode().Perm(), t.Mode.Perm()), nil
	}
	want, err := resolve(t)
	if err != nil {
		return "", err
	}
	if why := ownerDiffers(fi, want); why != "" {
		return why, nil
	}
	return "", nil
}

// Write writes value to t.Path atomically with t's owner and mode,
// creating missing parent directories (0755), then records version. The
// value is not kept.
func (f *Files) Write(t Target, version string, value []byte, notAfter time.Time) (Record, error) {
	if err := supported(); err != nil {
		return Record{}, err
	}
	owner, err := resolve(t)
	if err != nil {
		return Record{}, err
	}
	if err := os.MkdirAll(filepath.Dir(t.Path), 0o755); err != nil {
		return Record{}, fmt.Errorf("create the directory of secret file %s: %w", t.Path, err)
	}
	if err := fsutil.WriteFileAtomicAs(t.Path, value, t.Mode.Perm(), owner); err != nil {
		return Record{}, fmt.Errorf("secret file: %w", err)
	}
	fi, err := os.Lstat(t.Path)
	if err != nil {
		return Record{}, fmt.Errorf("check secret file %s after writing it: %w", t.Path, err)
	}
	rec := Record{URL: t.URL, Path: t.Path, Version: version, InstalledAt: time.Now().UTC(), NotAfter: notAfter, File: identify(fi)}
	if err := f.save(t, rec); err != nil {
		return rec, err
	}
	return rec, nil
}

// save writes rec atomically, readable by the agent alone.
func (f *Files) save(t Target, rec Record) error {
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return fmt.Errorf("create the secret records directory: %w", err)
	}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the record of secret file %s: %w", t.Path, err)
	}
	if err := fsutil.WriteFileAtomic(f.recordPath(t), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("record secret file %s: %w", t.Path, err)
	}
	return nil
}
