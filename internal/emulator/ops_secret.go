package emulator

import (
	"fmt"
	"strings"
)

// SecretValue is a stored secret version with its value.
type SecretValue struct {
	SecretVersion
	Value   string `json:"value"`
	Enabled bool   `json:"enabled"`
	Managed bool   `json:"managed,omitempty"`
}

// EnabledRequest is the body of a set-enabled admin request.
type EnabledRequest struct {
	Enabled bool `json:"enabled"`
}

// findLocked returns a secret version ("" = latest); the caller holds e.mu.
func (e *Emulator) findLocked(vault, name, version string) (*vaultState, *secretState, *versionState, error) {
	v, err := e.vaultLocked(vault)
	if err != nil {
		return nil, nil, nil, err
	}
	s := v.Secrets[strings.ToLower(name)]
	if s == nil {
		return nil, nil, nil, fmt.Errorf("secret %s in vault %s: %w", name, v.Name, ErrNotFound)
	}
	ver := s.find(version)
	if ver == nil {
		return nil, nil, nil, fmt.Errorf("version %q of secret %s in vault %s: %w", version, s.Name, v.Name, ErrNotFound)
	}
	return v, s, ver, nil
}

// GetSecret returns a secret version ("" = latest) with its value, whatever
// its enabled state and without access checks.
func (e *Emulator) GetSecret(vault, name, version string) (SecretValue, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	v, s, ver, err := e.findLocked(vault, name, version)
	if err != nil {
		return SecretValue{}, err
	}
	return SecretValue{SecretVersion: versionRef(v, s, ver), Value: ver.Value, Enabled: ver.Enabled, Managed: ver.Managed}, nil
}

// SetSecretEnabled enables or disables a secret version ("" = latest).
func (e *Emulator) SetSecretEnabled(vault, name, version string, enabled bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _, ver, err := e.findLocked(vault, name, version)
	if err != nil {
		return err
	}
	ver.Enabled = enabled
	ver.Updated = e.now().Unix()
	return e.saveLocked()
}
