package filestore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/akvvm/akvvm/internal/store"
)

// stateFormat is the version of the state file layout.
const stateFormat = 1

// state is what akvvm wrote into one store directory. Only files recorded
// here are ever removed or replaced.
type state struct {
	Format       int         `json:"format"`
	Certificates []certState `json:"certificates"`
}

// certState records one observed certificate.
type certState struct {
	Vault string `json:"vault"`
	Name  string `json:"name"`
	// Link is the name of the symbolic link akvvm maintains for it.
	Link string `json:"link,omitempty"`
	// Versions are in install order, oldest first.
	Versions []versionState `json:"versions"`
}

// versionState records one installed version file.
type versionState struct {
	Version     string    `json:"version"`
	File        string    `json:"file"`
	Thumbprint  string    `json:"thumbprint"`
	NotAfter    time.Time `json:"notAfter"`
	InstalledAt time.Time `json:"installedAt"`
	// ACLs lists the grants applied to the file, as "u:NAME" or "g:NAME".
	ACLs []string `json:"acls,omitempty"`
}

func (c *certState) ref() store.Ref { return store.Ref{Vault: c.Vault, Name: c.Name} }

// version returns the index of version v, or -1.
func (c *certState) version(v string) int {
	for i := range c.Versions {
		if c.Versions[i].Version == v {
			return i
		}
	}
	return -1
}

// cert returns the record of ref, or nil.
func (s *state) cert(ref store.Ref) *certState {
	for i := range s.Certificates {
		if s.Certificates[i].Vault == ref.Vault && s.Certificates[i].Name == ref.Name {
			return &s.Certificates[i]
		}
	}
	return nil
}

// ownsFile reports whether file is a version file recorded for any certificate.
func (s *state) ownsFile(file string) (store.Ref, bool) {
	for i := range s.Certificates {
		for _, v := range s.Certificates[i].Versions {
			if v.File == file {
				return s.Certificates[i].ref(), true
			}
		}
	}
	return store.Ref{}, false
}

// ownerOfLink returns the certificate whose link is name.
func (s *state) ownerOfLink(name string) (store.Ref, bool) {
	for i := range s.Certificates {
		if s.Certificates[i].Link == name {
			return s.Certificates[i].ref(), true
		}
	}
	return store.Ref{}, false
}

// parseState decodes and validates a state file. Every recorded name is
// checked, so a damaged or edited state can never make akvvm remove a file
// outside the store directory or one that is not a version file.
func parseState(data []byte) (*state, error) {
	var s state
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	if s.Format != stateFormat {
		return nil, fmt.Errorf("format %d is not %d: it was written by another akvvm version", s.Format, stateFormat)
	}
	seen := map[store.Ref]bool{}
	for _, c := range s.Certificates {
		ref := c.ref()
		if err := checkRef(ref); err != nil {
			return nil, err
		}
		if seen[ref] {
			return nil, fmt.Errorf("certificate %s/%s is recorded twice", c.Vault, c.Name)
		}
		seen[ref] = true
		if c.Link != "" {
			if err := checkLinkName(c.Link); err != nil {
				return nil, err
			}
		}
		versions := map[string]bool{}
		for _, v := range c.Versions {
			if err := checkVersion(v.Version); err != nil {
				return nil, err
			}
			if versions[v.Version] {
				return nil, fmt.Errorf("version %s of %s/%s is recorded twice", v.Version, c.Vault, c.Name)
			}
			versions[v.Version] = true
			if want := versionFileName(ref, v.Version); v.File != want {
				return nil, fmt.Errorf("version %s of %s/%s records file %q, want %q", v.Version, c.Vault, c.Name, v.File, want)
			}
		}
	}
	return &s, nil
}

// encode returns the state file content; equal states give equal bytes.
func (s *state) encode() ([]byte, error) {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the store state: %w", err)
	}
	return append(data, '\n'), nil
}

// loadState reads dir's state file. A missing file is an empty state with
// nil raw bytes.
func loadState(dir string) (st *state, raw []byte, err error) {
	path := filepath.Join(dir, stateFileName)
	raw, err = os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &state{Format: stateFormat}, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading store state %s: %w", path, err)
	}
	st, err = parseState(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("store state %s is damaged (%w): move it away to let akvvm start afresh; files it listed are then left in place", path, err)
	}
	return st, raw, nil
}

// saveState writes raw as dir's state file, or removes the file when raw is
// nil (restoring "nothing recorded").
func saveState(fsys fileSystem, dir string, raw []byte) error {
	if raw == nil {
		if err := fsys.Remove(filepath.Join(dir, stateFileName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing store state: %w", err)
		}
		return nil
	}
	if err := writeAtomic(fsys, dir, stateFileName, raw); err != nil {
		return fmt.Errorf("saving store state: %w", err)
	}
	return nil
}
