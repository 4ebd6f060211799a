package emulator

import (
	"fmt"
	"strings"
)

// maxFill bounds one fill request.
const maxFill = 100000

// FillSpec asks for many plain secrets at once, for a vault that should be
// large (listing and paging tests): Count secrets named Prefix followed by
// a zero-padded number (prefix00000, prefix00001, …), one version each.
type FillSpec struct {
	Prefix string `json:"prefix"`
	Count  int    `json:"count"`
	// Value is every secret's value; default "filler".
	Value       string `json:"value,omitempty"`
	ContentType string `json:"contentType,omitempty"`
}

// Filled is the answer to a fill request.
type Filled struct {
	// Secrets is how many secrets the vault holds afterwards.
	Secrets int `json:"secrets"`
}

// FillSecrets adds spec.Count plain secrets to the vault in one change,
// saved once: thousands cost one write of the state, not one each. A name
// that exists gets one more version.
func (e *Emulator) FillSecrets(vault string, spec FillSpec) (Filled, error) {
	if spec.Count < 1 || spec.Count > maxFill {
		return Filled{}, fmt.Errorf("fill count %d: ask for 1 to %d secrets", spec.Count, maxFill)
	}
	if !secretNamePattern.MatchString(spec.Prefix + "00000") {
		return Filled{}, fmt.Errorf("fill prefix %q is invalid: use letters, digits and hyphens", truncate(spec.Prefix, 40))
	}
	if spec.Value == "" {
		spec.Value = "filler"
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	v, err := e.vaultLocked(vault)
	if err != nil {
		return Filled{}, err
	}
	now := e.now().Unix()
	type added struct {
		key     string
		created bool
	}
	var undo []added
	for i := range spec.Count {
		id, err := newVersion()
		if err != nil {
			return Filled{}, err
		}
		name := fmt.Sprintf("%s%05d", spec.Prefix, i)
		key := strings.ToLower(name)
		s := v.Secrets[key]
		undo = append(undo, added{key: key, created: s == nil})
		if s == nil {
			s = &secretState{Name: name}
			v.Secrets[key] = s
		}
		s.Versions = append(s.Versions, &versionState{Version: id, Value: spec.Value, ContentType: spec.ContentType,
			Enabled: true, Created: now, Updated: now})
	}
	if err := e.saveLocked(); err != nil {
		// Not saved, so not stored: the state on disk and in memory agree.
		for _, a := range undo {
			if a.created {
				delete(v.Secrets, a.key)
				continue
			}
			s := v.Secrets[a.key]
			s.Versions = s.Versions[:len(s.Versions)-1]
		}
		return Filled{}, err
	}
	e.log.Info("emulator vault filled", "vault", v.Name, "added", spec.Count, "secrets", len(v.Secrets))
	return Filled{Secrets: len(v.Secrets)}, nil
}
