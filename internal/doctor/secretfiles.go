package doctor

import (
	"path/filepath"
	"runtime"
	"strings"

	"github.com/akvvm/akvvm/internal/config"
	"github.com/akvvm/akvvm/internal/secretfile"
)

// observed lists what the agent reads from the vaults: the observed
// certificates, then each observedSecrets entry as a certificate of its
// URL alone, so the vault checks (get and list permission) cover both.
func (d *doctor) observed() []config.Certificate {
	s := d.opts.Settings
	if len(s.Secrets) == 0 {
		return s.Certificates
	}
	out := append(make([]config.Certificate, 0, len(s.Certificates)+len(s.Secrets)), s.Certificates...)
	for _, sec := range s.Secrets {
		out = append(out, config.Certificate{URL: sec.URL})
	}
	return out
}

// checkSecretFiles checks, for every observedSecrets entry, that its owner
// and group exist here and that akvvm can write into its directory (or
// create it), with a probe file as for a store.
func (d *doctor) checkSecretFiles() {
	secrets := d.opts.Settings.Secrets
	if len(secrets) == 0 || runtime.GOOS == "windows" {
		return
	}
	d.rep.Section("secret files")
	for _, sec := range secrets {
		check := "secret file " + sec.Path
		t := secretfile.Target{URL: sec.URL.String(), Path: sec.Path, Mode: sec.Mode, Owner: sec.Owner, Group: sec.Group}
		if err := secretfile.Resolve(t); err != nil {
			d.rep.Add(Result{Outcome: Fail, Check: check, Detail: err.Error(), Fix: "create the user or group, or change owner/group in observedSecrets"})
			continue
		}
		res := CheckDirectory(filepath.Dir(sec.Path))
		res.Check = check
		if res.Outcome == Pass {
			res.Detail = "directory " + filepath.Dir(sec.Path) + ": " + res.Detail
		} else if strings.Contains(res.Fix, "certificateStoreLocation") {
			res.Fix = "point path in observedSecrets at a file inside a directory"
		}
		d.rep.Add(res)
	}
}
