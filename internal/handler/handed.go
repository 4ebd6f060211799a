package handler

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/akvvm/akvvm/internal/fsutil"
	"github.com/akvvm/akvvm/internal/store"
)

// handedFile lists every certificate and store target enable ever handed
// to the service, so that uninstall with removeCertificatesOnUninstall
// also finds certificates later settings dropped.
const handedFile = "certificates.json"

// HandedCertificate is one certificate enable handed to the service, and
// where the service installs it.
type HandedCertificate struct {
	// URL is the observed URL as configured, for messages; empty for a
	// certificate only the store named.
	URL    string       `json:"url,omitempty"`
	Ref    store.Ref    `json:"ref"`
	Target store.Target `json:"target"`
}

// name names the certificate in messages.
func (c HandedCertificate) name() string {
	if c.URL != "" {
		return c.URL
	}
	return c.Ref.Vault + "/" + c.Ref.Name
}

// key identifies a certificate at a target: the same secret may go to
// two stores.
func (c HandedCertificate) key() [4]string {
	return [4]string{c.Target.Location, c.Target.StoreName, c.Ref.Vault, c.Ref.Name}
}

// errHandedDamaged is matched by the errors about a damaged list.
var errHandedDamaged = errors.New("damaged")

type handedList struct {
	Certificates []HandedCertificate `json:"certificates"`
}

// ReadHanded returns the certificates recorded in the state directory; none
// when the file is missing. A link there is refused, not followed.
func ReadHanded(stateDir string) ([]HandedCertificate, error) {
	p := filepath.Join(stateDir, handedFile)
	data, err := fsutil.ReadFile(p, fsutil.MaxReadSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the list of certificates handed to the service: %w", err)
	}
	var l handedList
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("the list of certificates handed to the service %s is %w: %w", p, errHandedDamaged, err)
	}
	return l.Certificates, nil
}

// RecordHanded adds certs to the recorded certificates (a union: nothing is
// ever dropped) and writes the file atomically when something was added. A
// damaged file is replaced by certs and reported in the returned error
// after the write.
func RecordHanded(stateDir string, certs []HandedCertificate) error {
	known, damaged := ReadHanded(stateDir)
	if damaged != nil && !errors.Is(damaged, errHandedDamaged) {
		return damaged
	}
	merged, added := mergeHanded(known, certs, true)
	if !added && damaged == nil {
		return nil
	}
	data, err := json.MarshalIndent(handedList{Certificates: merged}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the list of certificates handed to the service: %w", err)
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return fmt.Errorf("create the state directory: %w", err)
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(stateDir, handedFile), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("write the list of certificates handed to the service: %w", err)
	}
	if damaged != nil {
		return fmt.Errorf("%w; it was replaced by the current settings' certificates", damaged)
	}
	return nil
}

// mergeHanded returns known plus the certificates of more it lacks, and
// whether anything changed. With replace, an entry of more for a
// certificate known already replaces it, so the newest link name and
// options win; without, the known entry stays.
func mergeHanded(known, more []HandedCertificate, replace bool) ([]HandedCertificate, bool) {
	out := append([]HandedCertificate(nil), known...)
	at := map[[4]string]int{}
	for i, c := range out {
		at[c.key()] = i
	}
	changed := false
	for _, c := range more {
		i, ok := at[c.key()]
		if !ok {
			at[c.key()] = len(out)
			out = append(out, c)
			changed = true
			continue
		}
		if replace && !sameHanded(out[i], c) {
			out[i] = c
			changed = true
		}
	}
	return out, changed
}

func sameHanded(a, b HandedCertificate) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}
