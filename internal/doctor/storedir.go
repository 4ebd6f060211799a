package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/akvvm/akvvm/internal/store"
)

// tempPattern names doctor's probe file with akvvm's reserved temp prefix,
// so a store's recovery removes one left behind by a killed doctor.
const tempPattern = store.ReservedPrefix + "-tmp-doctor-*"

// CheckDirectory checks that akvvm can write to a Linux store directory:
// it creates and removes a temporary file there, or, when the directory
// does not exist yet, in the nearest existing parent, where akvvm would
// create it.
func CheckDirectory(dir string) Result {
	check := "store " + dir
	probe, missing := dir, false
	for {
		fi, err := os.Stat(probe)
		if err == nil {
			if !fi.IsDir() {
				return Result{Outcome: Fail, Check: check, Detail: probe + " is not a directory", Fix: "point certificateStoreLocation at a directory"}
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return Result{Outcome: Fail, Check: check, Detail: err.Error(), Fix: "run akvvm as a user that may read " + probe}
		}
		parent := filepath.Dir(probe)
		if parent == probe {
			return Result{Outcome: Fail, Check: check, Detail: "no existing parent directory", Fix: "create the directory"}
		}
		probe, missing = parent, true
	}
	f, err := os.CreateTemp(probe, tempPattern)
	if err != nil {
		return Result{Outcome: Fail, Check: check, Detail: "not writable: " + err.Error(),
			Fix: "run akvvm as root (the service does), or give its user write access to " + probe}
	}
	name := f.Name()
	cerr := f.Close()
	rerr := os.Remove(name)
	if err := errors.Join(cerr, rerr); err != nil {
		return Result{Outcome: Fail, Check: check, Detail: fmt.Sprintf("created %s but could not remove it: %v", name, err), Fix: "remove the file and check the directory's permissions"}
	}
	if missing {
		return Result{Outcome: Pass, Check: check, Detail: "does not exist yet; akvvm creates it, and " + probe + " is writable"}
	}
	return Result{Outcome: Pass, Check: check, Detail: "writable (created and removed a temporary file)"}
}

// checkStores checks each distinct store of the observed certificates once.
func (d *doctor) checkStores(ctx context.Context) {
	if d.opts.Store == nil {
		return
	}
	d.rep.Section("certificate stores")
	seen := map[string]bool{}
	for _, c := range d.opts.Settings.Certificates {
		key := c.StoreLocation + "\x00" + c.StoreName
		if seen[key] {
			continue
		}
		seen[key] = true
		d.rep.Add(d.opts.Store(ctx, c))
	}
}
