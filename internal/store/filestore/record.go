package filestore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/akvvm/akvvm/internal/fsutil"
	"github.com/akvvm/akvvm/internal/store"
)

// recordFormat is the version of the per-certificate record layout.
// Records that use output files or relative links are written as
// recordFormatOutputs, so an older akvvm, which would not know to remove
// the output directories, refuses them instead of half-managing them;
// every other record keeps format 2, byte for byte.
const (
	recordFormat        = 2
	recordFormatOutputs = 3
)

// record is what akvvm wrote for one observed certificate, kept in
// "<dir>/.akvvm-records/<vault>.<certname>.json". Only files recorded here
// are ever removed or replaced.
type record struct {
	Format int `json:"format"`
	certState
}

func newRecord(ref store.Ref) *record {
	return &record{Format: recordFormat, certState: certState{Vault: ref.Vault, Name: ref.Name}}
}

// parseRecord decodes and validates ref's record.
func parseRecord(data []byte, ref store.Ref) (*record, error) {
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	if r.Format != recordFormat && r.Format != recordFormatOutputs {
		return nil, fmt.Errorf("format %d is not %d or %d: it was written by another akvvm version", r.Format, recordFormat, recordFormatOutputs)
	}
	if r.ref() != ref {
		return nil, fmt.Errorf("it records %s/%s, not %s/%s", r.Vault, r.Name, ref.Vault, ref.Name)
	}
	if err := checkCert(r.certState); err != nil {
		return nil, err
	}
	return &r, nil
}

// encode returns the record's file content; equal records give equal bytes.
func (r *record) encode() ([]byte, error) {
	r.Format = recordFormat
	if r.usesOutputs() {
		r.Format = recordFormatOutputs
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the record of %s/%s: %w", r.Vault, r.Name, err)
	}
	return append(data, '\n'), nil
}

// clone returns a deep copy, so a changed record can be compared with the
// one read.
func (r *record) clone() *record {
	c := *r
	c.Versions = make([]versionState, len(r.Versions))
	for i, v := range r.Versions {
		v.ACLs = append([]string(nil), v.ACLs...)
		if v.Outputs != nil {
			o := *v.Outputs
			o.Files = append([]string(nil), o.Files...)
			o.ACLs = append([]string(nil), o.ACLs...)
			v.Outputs = &o
		}
		c.Versions[i] = v
	}
	return &c
}

// usesOutputs reports whether the record has anything format 2 lacks.
func (r *record) usesOutputs() bool {
	if r.OutputsLink != "" || r.RelativeLinks {
		return true
	}
	for _, v := range r.Versions {
		if v.Outputs != nil {
			return true
		}
	}
	return false
}

// checkRecordsDir reports whether dir's records directory exists, refusing
// one that is a symbolic link or not a directory.
func checkRecordsDir(dir string) (bool, error) {
	p := filepath.Join(dir, recordsDirName)
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking akvvm's records directory %s: %w", p, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return false, fmt.Errorf("%s is a symbolic link, not a directory: akvvm keeps its records there and does not follow links; move it away", p)
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("%s is not a directory: akvvm keeps its records there; move it away", p)
	}
	return true, nil
}

// errDamaged marks a record that cannot be read as one.
var errDamaged = errors.New("damaged")

// maxRecordSize bounds a record file: one certificate's few versions take
// a few kilobytes.
const maxRecordSize = 1 << 20

// loadRecord reads ref's record from recDir, without following a link
// there. A missing record is nil with nil raw bytes.
func loadRecord(recDir string, ref store.Ref) (*record, []byte, error) {
	path := filepath.Join(recDir, recordFileName(ref))
	raw, err := fsutil.ReadFile(path, maxRecordSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading the record of %s/%s: %w", ref.Vault, ref.Name, err)
	}
	r, err := parseRecord(raw, ref)
	if err != nil {
		return nil, nil, fmt.Errorf("record %s is %w (%w): move it away to let akvvm start afresh for %s/%s; the files it listed are then left in place", path, errDamaged, err, ref.Vault, ref.Name)
	}
	return r, raw, nil
}

// saveRecord replaces ref's record with r unless it encodes to old, and
// reports whether it wrote. The record's data is fsynced; its directory is
// not (the caller decides when that must happen).
func saveRecord(fsys fileSystem, recDir string, r *record, old []byte) (bool, error) {
	data, err := r.encode()
	if err != nil {
		return false, err
	}
	if bytes.Equal(data, old) {
		return false, nil
	}
	if err := writeRecordBytes(fsys, recDir, r.ref(), data); err != nil {
		return false, err
	}
	return true, nil
}

// writeRecordBytes replaces ref's record with data, or removes it when
// data is nil.
func writeRecordBytes(fsys fileSystem, recDir string, ref store.Ref, data []byte) error {
	if data == nil {
		err := fsys.Remove(filepath.Join(recDir, recordFileName(ref)))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing the record of %s/%s: %w", ref.Vault, ref.Name, err)
		}
		return nil
	}
	if err := writeAtomic(fsys, recDir, tempPattern(ref), recordFileName(ref), data); err != nil {
		return fmt.Errorf("saving the record of %s/%s: %w", ref.Vault, ref.Name, err)
	}
	return nil
}

// clearArrived clears the pending flag of every version of r whose file is
// in place, except the file named except (being written now). Callers do
// it only when they write the record anyway.
func clearArrived(dir string, r *record, except string) {
	for i := range r.Versions {
		v := &r.Versions[i]
		if v.Pending != "" && v.File != except && regularFile(filepath.Join(dir, v.File)) {
			v.Pending = ""
		}
		if o := v.Outputs; o != nil && o.Pending != "" && v.File != except && isDir(filepath.Join(dir, o.Dir)) {
			o.Pending = ""
		}
	}
}
