//go:build linux

package e2e

import (
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/store"
)

// checkVersionFile says what is wrong with an installed version file, or
// nil: it must be complete PEM whose first certificate is the leaf with
// thumbprint want (any leaf when want is "") and that holds the private key
// matching that leaf. Errors never quote the content.
func checkVersionFile(path, want string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var leaf *x509.Certificate
	var key crypto.PrivateKey
	certs := 0
	for rest := data; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			if len(strings.TrimSpace(string(rest))) != 0 {
				return fmt.Errorf("%s: %d bytes after the last complete PEM block (a partial write?)", filepath.Base(path), len(rest))
			}
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return fmt.Errorf("%s: certificate %d does not parse: %w", filepath.Base(path), certs+1, err)
			}
			if certs == 0 {
				leaf = c
			}
			certs++
		case "PRIVATE KEY":
			if key, err = x509.ParsePKCS8PrivateKey(blk.Bytes); err != nil {
				return fmt.Errorf("%s: the private key does not parse: %w", filepath.Base(path), err)
			}
		default:
			return fmt.Errorf("%s: unexpected PEM block %q", filepath.Base(path), blk.Type)
		}
	}
	switch {
	case leaf == nil:
		return fmt.Errorf("%s: no certificate (%d bytes)", filepath.Base(path), len(data))
	case key == nil:
		return fmt.Errorf("%s: no private key", filepath.Base(path))
	}
	signer, ok := key.(crypto.Signer)
	pub, ok2 := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !ok2 || !pub.Equal(signer.Public()) {
		return fmt.Errorf("%s: the private key does not match the first certificate", filepath.Base(path))
	}
	if got := store.Thumbprint(leaf.Raw); want != "" && got != want {
		return fmt.Errorf("%s: holds the certificate %s, want %s", filepath.Base(path), got, want)
	}
	return nil
}

// storeView is what a store directory holds, by kind of entry.
type storeView struct {
	// versions maps "<vault>.<cert>" to the versions with a file.
	versions map[string][]string
	// links maps a link name to the base name of its target.
	links map[string]string
	// temps are temporary files a write left behind.
	temps []string
}

// isTemp reports whether a store or state entry is a temporary file of an
// atomic write: the store's ".akvvm-tmp-*" or fsutil's ".<name>.tmp-*".
func isTemp(name string) bool {
	return strings.HasPrefix(name, ".akvvm-tmp-") || (strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp-"))
}

// viewStore reads dir for the certificates in keys ("<vault>.<cert>"). An
// entry of another kind under a certificate's name is an error.
func viewStore(dir string, keys []string) (storeView, error) {
	v := storeView{versions: map[string][]string{}, links: map[string]string{}}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return v, err
	}
	var errs []error
	for _, en := range entries {
		name := en.Name()
		if isTemp(name) {
			v.temps = append(v.temps, name)
			continue
		}
		if strings.HasPrefix(name, ".") {
			continue // akvvm's own records and lock
		}
		matched := false
		for _, k := range keys {
			switch {
			case name == k:
				matched = true
				target, err := os.Readlink(filepath.Join(dir, name))
				if err != nil {
					errs = append(errs, fmt.Errorf("%s is not a symbolic link: %w", name, err))
					continue
				}
				v.links[name] = filepath.Base(target)
			case strings.HasPrefix(name, k+"."):
				matched = true
				if !en.Type().IsRegular() {
					errs = append(errs, fmt.Errorf("%s is not a regular file (%v)", name, en.Type()))
					continue
				}
				v.versions[k] = append(v.versions[k], strings.TrimPrefix(name, k+"."))
			}
		}
		if !matched {
			errs = append(errs, fmt.Errorf("unexpected entry %s", name))
		}
	}
	return v, errors.Join(errs...)
}

// stateTemps returns the temporary files in a state directory.
func stateTemps(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, en := range entries {
		if isTemp(en.Name()) {
			out = append(out, en.Name())
		}
	}
	return out, nil
}

// recordsDirName is where akvvm keeps one record per certificate in a
// store directory (docs/operations.md, "The Linux store").
const recordsDirName = ".akvvm-records"

// recordView is what the tests read of a certificate's record: format 2
// JSON as docs/operations.md describes it. The store's own types are not
// used, so that a change of the file format shows here.
type recordView struct {
	Format   int    `json:"format"`
	Vault    string `json:"vault"`
	Name     string `json:"name"`
	Link     string `json:"link"`
	Versions []struct {
		Version string `json:"version"`
		File    string `json:"file"`
		Pending string `json:"pending"`
	} `json:"versions"`
}

// checkRecords says what is wrong between akvvm's records in dir and what
// dir holds (view, from viewStore) for the certificates in keys
// ("<vault>.<cert>", whose link has the same name), or nil. Every version
// file must be listed in its certificate's record, every recorded version
// that is not pending must have its file, and the record's link must be
// the link on disk, pointing at a recorded file. It also returns the
// temporary files in the records directory and the pending entries whose
// file is missing (neither is wrong in itself). Errors name files and
// versions, never content.
func checkRecords(dir string, view storeView, keys []string) (temps, pendingMissing []string, err error) {
	recDir := filepath.Join(dir, recordsDirName)
	var errs []error
	known := map[string]bool{}
	for _, k := range keys {
		known[k+".json"] = true
		known[k+".lock"] = true
	}
	entries, rerr := os.ReadDir(recDir)
	if rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		return nil, nil, rerr
	}
	for _, en := range entries {
		switch name := en.Name(); {
		case isTemp(name):
			temps = append(temps, name)
		case !known[name]:
			errs = append(errs, fmt.Errorf("%s/%s: unexpected entry in the records directory (no certificate of the test)", recordsDirName, name))
		}
	}

	for _, k := range keys {
		vault, cert, _ := strings.Cut(k, ".")
		recName := recordsDirName + "/" + k + ".json"
		onDisk := view.versions[k]
		linkTarget, hasLink := view.links[k]
		data, err := os.ReadFile(filepath.Join(recDir, k+".json"))
		if errors.Is(err, os.ErrNotExist) {
			if len(onDisk) > 0 || hasLink {
				errs = append(errs, fmt.Errorf("%s: no record %s, but the store holds version files %v and link %q for it (files akvvm will never delete)", k, recName, onDisk, linkTarget))
			}
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: reading its record: %w", k, err))
			continue
		}
		var rec recordView
		if err := json.Unmarshal(data, &rec); err != nil {
			errs = append(errs, fmt.Errorf("%s: the record %s does not decode: %w", k, recName, err))
			continue
		}
		if rec.Format != 2 {
			errs = append(errs, fmt.Errorf("%s: the record %s has format %d, want 2", k, recName, rec.Format))
		}
		if rec.Vault != vault || rec.Name != cert {
			errs = append(errs, fmt.Errorf("%s: the record %s is for vault %q certificate %q, want %q %q", k, recName, rec.Vault, rec.Name, vault, cert))
		}

		listed := map[string]bool{} // version files the record lists and that exist
		seen := map[string]bool{}
		for _, v := range rec.Versions {
			if seen[v.Version] {
				errs = append(errs, fmt.Errorf("%s: the record %s lists version %s more than once", k, recName, v.Version))
			}
			seen[v.Version] = true
			if want := k + "." + v.Version; v.File != want {
				errs = append(errs, fmt.Errorf("%s: the record %s names file %q for version %s, want %s", k, recName, v.File, v.Version, want))
				continue
			}
			fi, err := os.Lstat(filepath.Join(dir, v.File))
			switch {
			case err == nil && fi.Mode().IsRegular():
				listed[v.File] = true
			case err == nil:
				errs = append(errs, fmt.Errorf("%s: the record %s lists version %s, but %s is not a regular file (%v)", k, recName, v.Version, v.File, fi.Mode().Type()))
			case !errors.Is(err, os.ErrNotExist):
				errs = append(errs, fmt.Errorf("%s: checking the recorded file %s: %w", k, v.File, err))
			case v.Pending != "":
				pendingMissing = append(pendingMissing, fmt.Sprintf("%s (pending as %s)", v.File, v.Pending))
			default:
				errs = append(errs, fmt.Errorf("%s: the record %s lists version %s (not pending), but its file %s is not on disk (a stale entry)", k, recName, v.Version, v.File))
			}
		}
		for _, v := range onDisk {
			if f := k + "." + v; !listed[f] {
				errs = append(errs, fmt.Errorf("%s: the version file %s is on disk but the record %s does not list it (key material akvvm will never delete)", k, f, recName))
			}
		}

		switch {
		case rec.Link == "" && hasLink:
			errs = append(errs, fmt.Errorf("%s: the link %s is on disk (-> %s) but the record %s has no link", k, k, linkTarget, recName))
		case rec.Link == "":
		case rec.Link != k:
			errs = append(errs, fmt.Errorf("%s: the record %s has link %q, but the link on disk is %q", k, recName, rec.Link, k))
		case !hasLink:
			errs = append(errs, fmt.Errorf("%s: the record %s has link %q, which is not on disk", k, recName, rec.Link))
		case !listed[linkTarget]:
			errs = append(errs, fmt.Errorf("%s: the link %s points at %s, which the record %s does not list as a file on disk", k, k, linkTarget, recName))
		default:
			lfi, err1 := os.Stat(filepath.Join(dir, k))
			ffi, err2 := os.Lstat(filepath.Join(dir, linkTarget))
			if err1 != nil || err2 != nil || !os.SameFile(lfi, ffi) {
				errs = append(errs, fmt.Errorf("%s: the link %s does not resolve to %s in the store directory (%v)", k, k, linkTarget, errors.Join(err1, err2)))
			}
		}
	}
	return temps, pendingMissing, errors.Join(errs...)
}

// checkStoreRecords runs checkRecords on the store of b for keys, once
// akvvm has completed a pass: a temporary file left in the records
// directory is an error too. Pending entries whose file is missing are
// logged.
func (b *box) checkStoreRecords(t *testing.T, keys []string, where string) {
	t.Helper()
	view, err := viewStore(b.store, keys)
	if err != nil {
		t.Errorf("%s: %v", where, err)
	}
	temps, pending, err := checkRecords(b.store, view, keys)
	if err != nil {
		t.Errorf("%s: the records do not match the store:\n%v", where, err)
	}
	if len(temps) > 0 {
		t.Errorf("%s: temporary files left in %s after a complete pass: %v", where, recordsDirName, temps)
	}
	if len(pending) > 0 {
		t.Logf("%s: pending record entries without their file: %v", where, pending)
	}
}
