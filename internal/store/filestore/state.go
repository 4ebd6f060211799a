package filestore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/akvvm/akvvm/internal/fsutil"
	"github.com/akvvm/akvvm/internal/store"
)

// stateFormat is the version of the legacy whole-store state file, which
// akvvm now only reads to migrate it into per-certificate records.
const stateFormat = 1

// state is the legacy record of what akvvm wrote into one store directory.
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
	// OutputsLink is the name of the symbolic link to the current
	// version's output directory, "" when akvvm keeps none (records only).
	OutputsLink string `json:"outputsLink,omitempty"`
	// RelativeLinks says the links hold names relative to the store
	// directory (records only).
	RelativeLinks bool `json:"relativeLinks,omitempty"`
	// Versions are in install order, oldest first.
	Versions []versionState `json:"versions"`
}

// versionState records one installed version file.
type versionState struct {
	Version     string    `json:"version"`
	File        string    `json:"file"`
	Thumbprint  string    `json:"thumbprint"`
	NotBefore   time.Time `json:"notBefore,omitzero"`
	NotAfter    time.Time `json:"notAfter"`
	InstalledAt time.Time `json:"installedAt"`
	// ACLs lists the grants applied to the file, as "u:NAME" or "g:NAME".
	ACLs []string `json:"acls,omitempty"`
	// Pending names the temp file the version was written to when the
	// record was saved before the rename (records only, never the legacy
	// state). It is cleared on the record's next write once the file is in
	// place, so a missing file with its temp present means "died before the
	// rename", and a missing file without it "deleted outside akvvm".
	Pending string `json:"pending,omitempty"`
	// Outputs records the version's output directory, nil when akvvm
	// wrote none for it (records only).
	Outputs *outputState `json:"outputs,omitempty"`
}

// outputState records the output directory of one version.
type outputState struct {
	// Dir is the directory's name in the store directory: the version
	// file's name with ".d".
	Dir string `json:"dir"`
	// Files are the output files written into it, in store.OutputFiles order.
	Files []string `json:"files"`
	// ACLs lists the grants applied to its files, as versionState.ACLs.
	ACLs []string `json:"acls,omitempty"`
	// PasswordFile is the store.PasswordStamp of the PFX password file
	// the PFX was written with; "" for none or an empty password.
	PasswordFile string `json:"passwordFile,omitempty"`
	// Pending names the temp directory the outputs were written to when
	// the record was saved before the rename, as versionState.Pending.
	Pending string `json:"pending,omitempty"`
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
		if err := checkCert(c); err != nil {
			return nil, err
		}
		if seen[c.ref()] {
			return nil, fmt.Errorf("certificate %s/%s is recorded twice", c.Vault, c.Name)
		}
		seen[c.ref()] = true
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

// checkCert validates every name in one certificate's record, so a damaged
// or edited record can never make akvvm remove a file outside the store
// directory or one that is not a version file of that certificate.
func checkCert(c certState) error {
	ref := c.ref()
	if err := checkRef(ref); err != nil {
		return err
	}
	if c.Link != "" {
		if err := checkLinkName(c.Link); err != nil {
			return err
		}
	}
	if c.OutputsLink != "" {
		if err := checkLinkName(c.OutputsLink); err != nil {
			return err
		}
	}
	versions := map[string]bool{}
	for _, v := range c.Versions {
		if err := checkVersion(v.Version); err != nil {
			return err
		}
		if versions[v.Version] {
			return fmt.Errorf("version %s of %s/%s is recorded twice", v.Version, c.Vault, c.Name)
		}
		versions[v.Version] = true
		if want := versionFileName(ref, v.Version); v.File != want {
			return fmt.Errorf("version %s of %s/%s records file %q, want %q", v.Version, c.Vault, c.Name, v.File, want)
		}
		if v.Pending != "" && (strings.ContainsAny(v.Pending, "/\\\x00") || tagOfTemp(v.Pending) != tempTag(ref)) {
			return fmt.Errorf("version %s of %s/%s records temporary file %q, which is not one of its own", v.Version, c.Vault, c.Name, v.Pending)
		}
		if err := checkOutputState(ref, v); err != nil {
			return err
		}
	}
	return nil
}

// checkOutputState validates the names in a version's output record: its
// directory is the version file's name with ".d", its files are output
// file names and its temp directory is one of the certificate's own.
func checkOutputState(ref store.Ref, v versionState) error {
	o := v.Outputs
	if o == nil {
		return nil
	}
	if want := outputsDirName(v.File); o.Dir != want {
		return fmt.Errorf("version %s of %s/%s records output directory %q, want %q", v.Version, ref.Vault, ref.Name, o.Dir, want)
	}
	for _, f := range o.Files {
		if !slices.Contains(store.OutputFiles, f) {
			return fmt.Errorf("version %s of %s/%s records output file %q, which is not an output file name", v.Version, ref.Vault, ref.Name, f)
		}
	}
	if o.Pending != "" && (strings.ContainsAny(o.Pending, "/\\\x00") || tagOfTemp(o.Pending) != tempTag(ref)) {
		return fmt.Errorf("version %s of %s/%s records temporary directory %q, which is not one of its own", v.Version, ref.Vault, ref.Name, o.Pending)
	}
	return nil
}

// loadState reads dir's legacy state file for migration, without following
// a link there. A missing file is a nil state.
func loadState(dir string) (*state, error) {
	path := filepath.Join(dir, stateFileName)
	raw, err := fsutil.ReadFile(path, fsutil.MaxReadSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the legacy store state: %w", err)
	}
	st, err := parseState(raw)
	if err != nil {
		return nil, fmt.Errorf("store state %s is damaged (%w): move it away to let akvvm start afresh; files it listed are then left in place", path, err)
	}
	return st, nil
}
