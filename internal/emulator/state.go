package emulator

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/akvvm/akvvm/internal/fsutil"
)

// stateFile is the JSON file that keeps vaults, identities and secrets.
type stateFile struct {
	path string
}

// load reads the state, or returns an empty one when the file does not exist.
func (f *stateFile) load() (*persistedState, error) {
	data, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return newPersistedState(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read emulator state: %w", err)
	}
	st, err := decodeState(data)
	if err != nil {
		return nil, fmt.Errorf("emulator state file %s: %w; fix or delete it to start empty", f.path, err)
	}
	return st, nil
}

// decodeState parses and checks a state file's content.
func decodeState(data []byte) (*persistedState, error) {
	st := newPersistedState()
	if err := json.Unmarshal(data, st); err != nil {
		return nil, errors.New("not valid JSON state")
	}
	if st.Format != 1 {
		return nil, fmt.Errorf("unsupported state format %d", st.Format)
	}
	if st.Vaults == nil {
		st.Vaults = map[string]*vaultState{}
	}
	for key, v := range st.Vaults {
		if v == nil || v.Name == "" {
			return nil, fmt.Errorf("vault %q has no name", truncate(key, 40))
		}
		if v.Secrets == nil {
			v.Secrets = map[string]*secretState{}
		}
		for skey, s := range v.Secrets {
			if s == nil || len(s.Versions) == 0 || s.Name == "" {
				return nil, fmt.Errorf("secret %q in vault %s has no versions", truncate(skey, 40), v.Name)
			}
			for _, ver := range s.Versions {
				if ver == nil || ver.Version == "" {
					return nil, fmt.Errorf("secret %s in vault %s has a version without id", s.Name, v.Name)
				}
			}
		}
	}
	return st, nil
}

// save writes st atomically, mode 0600.
func (f *stateFile) save(st *persistedState) error {
	data, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return fmt.Errorf("encode emulator state: %w", err)
	}
	if err := fsutil.WriteFileAtomic(f.path, data, 0o600); err != nil {
		return fmt.Errorf("save emulator state (check space and permissions of %s): %w", filepath.Dir(f.path), err)
	}
	return nil
}

// saveLocked persists the state when the emulator has a state directory.
// The caller holds e.mu.
func (e *Emulator) saveLocked() error {
	if e.saver == nil {
		return nil
	}
	return e.saver.save(e.st)
}

// loadOrCreateKey reads the token signing key, creating it (0600) on first use.
func loadOrCreateKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	switch {
	case err == nil && len(key) >= 32:
		return key, nil
	case err == nil:
		return nil, fmt.Errorf("token key file %s is too short; delete it to create a new one (issued tokens become invalid)", path)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("read token key: %w", err)
	}
	if key, err = randomBytes(32); err != nil {
		return nil, err
	}
	if err := fsutil.WriteFileAtomic(path, key, 0o600); err != nil {
		return nil, fmt.Errorf("write token key: %w", err)
	}
	return key, nil
}

func randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("read random bytes: %w", err)
	}
	return b, nil
}
