package emulator

import (
	"fmt"
	"slices"
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

// DeleteSecretVersion makes the vault stop listing one version of a secret
// and stop serving it. Key Vault itself cannot delete a single version; this
// stands for a secret that was restored or recreated without that version.
// Deleting the last version deletes the secret. The version must be named:
// "" is refused rather than taken as the latest.
func (e *Emulator) DeleteSecretVersion(vault, name, version string) error {
	if version == "" {
		return fmt.Errorf("delete a version of secret %s: name the version (use DeleteSecret to delete the whole secret)", name)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	v, s, ver, err := e.findLocked(vault, name, version)
	if err != nil {
		return err
	}
	key := strings.ToLower(s.Name)
	before := s.Versions
	i := slices.Index(before, ver)
	s.Versions = slices.Delete(slices.Clone(before), i, i+1)
	if len(s.Versions) == 0 {
		delete(v.Secrets, key)
	}
	if err := e.saveLocked(); err != nil {
		// Not saved, so not deleted: the state on disk and in memory agree.
		s.Versions = before
		v.Secrets[key] = s
		return err
	}
	e.log.Info("emulator secret version deleted", "vault", v.Name, "name", s.Name, "version", ver.Version, "versionsLeft", len(s.Versions))
	return nil
}

// DeleteSecret deletes a secret with all its versions at once, without the
// soft-delete record the data plane's delete reports, and without access
// checks. A later create of the same name starts a new secret.
func (e *Emulator) DeleteSecret(vault, name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	v, err := e.vaultLocked(vault)
	if err != nil {
		return err
	}
	key := strings.ToLower(name)
	s := v.Secrets[key]
	if s == nil {
		return fmt.Errorf("secret %s in vault %s: %w", name, v.Name, ErrNotFound)
	}
	delete(v.Secrets, key)
	if err := e.saveLocked(); err != nil {
		v.Secrets[key] = s
		return err
	}
	e.log.Info("emulator secret deleted", "vault", v.Name, "name", s.Name, "versions", len(s.Versions))
	return nil
}
