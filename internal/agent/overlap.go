package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"
)

// CheckOverlaps refuses two entries that install into one directory under
// two spellings of it (one is a symbolic link to the other), which validate
// cannot see from the settings alone: the same secret twice there, whose
// record and links would fight, or two certificates with one link name. It
// only reads the file system, once per distinct directory.
func CheckOverlaps(certs []CertSpec) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	real := map[string]string{}
	seen := map[string]int{}
	var errs []error
	for i, c := range certs {
		if c.IsSecret() {
			continue // its own file; config refuses two secrets for one path
		}
		loc := c.Target.Location
		if !filepath.IsAbs(loc) {
			continue
		}
		dir, ok := real[loc]
		if !ok {
			dir = realDir(loc)
			real[loc] = dir
		}
		key := "cert|" + strings.ToLower(c.Vault) + "|" + strings.ToLower(c.Name) + "|" + dir
		if first, dup := seen[key]; dup {
			errs = append(errs, fmt.Errorf("observedCertificates[%d] and [%d] both install %s/%s into %s (%s and %s are the same directory), where their record and links would fight: remove one entry or give both the same certificateStoreLocation",
				first, i, c.Vault, c.Name, dir, certs[first].Target.Location, loc))
			continue
		}
		seen[key] = i
		if c.Target.LinkName == "" {
			continue
		}
		lk := "link|" + c.Target.LinkName + "|" + dir
		if first, dup := seen[lk]; dup {
			errs = append(errs, fmt.Errorf("observedCertificates[%d] and [%d] both use the link name %q in %s (%s and %s are the same directory): give every certificate in a directory its own customSymbolicLinkName",
				first, i, c.Target.LinkName, dir, certs[first].Target.Location, loc))
			continue
		}
		seen[lk] = i
	}
	return errors.Join(errs...)
}

// realDir resolves the symbolic links in loc. A directory that does not
// exist yet resolves through its nearest existing parent.
func realDir(loc string) string {
	loc = filepath.Clean(loc)
	rest := ""
	for p := loc; ; p = filepath.Dir(p) {
		resolved, err := filepath.EvalSymlinks(p)
		if err == nil {
			return filepath.Join(resolved, rest)
		}
		if !errors.Is(err, fs.ErrNotExist) || p == filepath.Dir(p) {
			return loc
		}
		rest = filepath.Join(filepath.Base(p), rest)
	}
}
