package emulator

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/akvvm/akvvm/internal/cloud"
)

// ErrNotFound is returned (wrapped) by admin operations on a vault or secret that does not exist.
var ErrNotFound = errors.New("not found")

// VaultSpec describes a vault to create.
type VaultSpec struct {
	// Name is the vault name (3-24 letters, digits and hyphens).
	Name string `json:"name"`
	// Cloud is a cloud name (AzurePublic, AzureChina, AzureUSGovernment,
	// AzureGermany), an alias (public, china, usgov, germany) or a vault
	// suffix; default public.
	Cloud string `json:"cloud,omitempty"`
	// Access maps client ids to permissions; nil grants every identity everything.
	Access map[string][]Permission `json:"access,omitempty"`
}

// VaultInfo describes an existing vault.
type VaultInfo struct {
	Name  string `json:"name"`
	Cloud string `json:"cloud"`
	URL   string `json:"url"`
	// Access is nil for a vault open to every identity.
	Access  map[string][]Permission `json:"access,omitempty"`
	Secrets int                     `json:"secrets"`
}

// SecretSpec is a plain secret value to store as a new version.
type SecretSpec struct {
	Value       string            `json:"value"`
	ContentType string            `json:"contentType,omitempty"`
	Enabled     *bool             `json:"enabled,omitempty"` // default true
	NotBefore   *time.Time        `json:"nbf,omitempty"`
	Expires     *time.Time        `json:"exp,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// SecretVersion identifies a stored secret version.
type SecretVersion struct {
	Vault   string `json:"vault"`
	Name    string `json:"name"`
	Version string `json:"version"`
	// ID is the version's full identifier URL.
	ID          string `json:"id"`
	ContentType string `json:"contentType,omitempty"`
	// Thumbprint is the SHA-1 thumbprint of a certificate's leaf (certificates only).
	Thumbprint string `json:"thumbprint,omitempty"`
}

var vaultNamePattern = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$`)

// ParseCloud resolves a cloud name, alias or vault suffix ("" = public).
func ParseCloud(s string) (cloud.Cloud, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "public", "azure", "azurecloud":
		return cloud.Public, nil
	case "china", "azurechinacloud":
		return cloudByName("AzureChina"), nil
	case "usgov", "usgovernment", "azureusgovernmentcloud":
		return cloudByName("AzureUSGovernment"), nil
	case "germany", "azuregermancloud":
		return cloudByName("AzureGermany"), nil
	}
	for _, c := range cloud.All {
		if strings.EqualFold(s, c.Name) || strings.EqualFold(strings.TrimPrefix(s, "."), c.VaultSuffix) {
			return c, nil
		}
	}
	return cloud.Cloud{}, fmt.Errorf("unknown cloud %q: use public, china, usgov or germany", s)
}

// normaliseAccess lower-cases client ids and copies the lists.
func normaliseAccess(a map[string][]Permission) (map[string][]Permission, error) {
	if a == nil {
		return nil, nil
	}
	out := make(map[string][]Permission, len(a))
	for id, perms := range a {
		if err := checkClientID(id); err != nil {
			return nil, err
		}
		for _, p := range perms {
			if _, err := ParsePermission(string(p)); err != nil {
				return nil, err
			}
		}
		out[strings.ToLower(id)] = slices.Clone(perms)
	}
	return out, nil
}

func checkClientID(id string) error {
	if id == "" || len(id) > 64 || strings.ContainsAny(id, " \t\r\n/?&#") {
		return fmt.Errorf("client id %q is invalid: use the identity's client id (a GUID)", truncate(id, 70))
	}
	return nil
}

// CreateVault creates a vault. Creating an existing vault in the same cloud
// changes nothing except its access list, when spec.Access is not nil.
func (e *Emulator) CreateVault(spec VaultSpec) (VaultInfo, error) {
	if !vaultNamePattern.MatchString(spec.Name) || strings.Contains(spec.Name, "--") {
		return VaultInfo{}, fmt.Errorf("vault name %q is invalid: use 3-24 letters, digits and single hyphens, starting with a letter", truncate(spec.Name, 30))
	}
	c, err := ParseCloud(spec.Cloud)
	if err != nil {
		return VaultInfo{}, err
	}
	access, err := normaliseAccess(spec.Access)
	if err != nil {
		return VaultInfo{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	key := strings.ToLower(spec.Name)
	v := e.st.Vaults[key]
	switch {
	case v == nil:
		v = &vaultState{Name: spec.Name, Cloud: c.Name, Access: access, Secrets: map[string]*secretState{}}
		e.st.Vaults[key] = v
	case v.Cloud != c.Name:
		return VaultInfo{}, fmt.Errorf("vault %s already exists in cloud %s; pick another name", v.Name, v.Cloud)
	case access != nil:
		v.Access = access
	}
	if err := e.saveLocked(); err != nil {
		return VaultInfo{}, err
	}
	e.log.Info("emulator vault ready", "vault", v.Name, "cloud", v.Cloud)
	return vaultInfo(v), nil
}

func vaultInfo(v *vaultState) VaultInfo {
	var access map[string][]Permission
	if v.Access != nil {
		access = make(map[string][]Permission, len(v.Access))
		for id, perms := range v.Access {
			access[id] = slices.Clone(perms)
		}
	}
	return VaultInfo{Name: v.Name, Cloud: v.Cloud, URL: vaultBase(v), Access: access, Secrets: len(v.Secrets)}
}

// Vaults lists the vaults in name order.
func (e *Emulator) Vaults() []VaultInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	keys := slices.Sorted(maps.Keys(e.st.Vaults))
	out := make([]VaultInfo, 0, len(keys))
	for _, k := range keys {
		out = append(out, vaultInfo(e.st.Vaults[k]))
	}
	return out
}

// SetAccess replaces a vault's access list; nil opens the vault to every identity.
func (e *Emulator) SetAccess(vault string, access map[string][]Permission) error {
	norm, err := normaliseAccess(access)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	v, err := e.vaultLocked(vault)
	if err != nil {
		return err
	}
	v.Access = norm
	return e.saveLocked()
}

// AddIdentity adds a user-assigned identity by client id (idempotent).
func (e *Emulator) AddIdentity(clientID string) error {
	if err := checkClientID(clientID); err != nil {
		return err
	}
	id := strings.ToLower(clientID)
	e.mu.Lock()
	defer e.mu.Unlock()
	if id == SystemAssignedClientID || slices.Contains(e.st.Identities, id) {
		return nil
	}
	e.st.Identities = append(e.st.Identities, id)
	return e.saveLocked()
}

// Identities returns the client ids of all identities, the system-assigned one first (if any).
func (e *Emulator) Identities() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	if !e.cfg.NoSystemIdentity {
		out = append(out, SystemAssignedClientID)
	}
	return append(out, e.st.Identities...)
}

// hasIdentity reports whether clientID is a known identity.
func (e *Emulator) hasIdentity(clientID string) bool {
	id := strings.ToLower(clientID)
	if id == SystemAssignedClientID {
		return !e.cfg.NoSystemIdentity
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Contains(e.st.Identities, id)
}

// SetSecret stores a plain secret value as a new version.
func (e *Emulator) SetSecret(vault, name string, spec SecretSpec) (SecretVersion, error) {
	if !secretNamePattern.MatchString(name) {
		return SecretVersion{}, fmt.Errorf("secret name %q is invalid: use 1-127 letters, digits and hyphens", truncate(name, 130))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	v, err := e.vaultLocked(vault)
	if err != nil {
		return SecretVersion{}, err
	}
	s, ver, err := e.addVersionLocked(v, name, spec, false)
	if err != nil {
		return SecretVersion{}, err
	}
	return versionRef(v, s, ver), nil
}

func versionRef(v *vaultState, s *secretState, ver *versionState) SecretVersion {
	return SecretVersion{Vault: v.Name, Name: s.Name, Version: ver.Version, ContentType: ver.ContentType,
		ID: vaultBase(v) + "/secrets/" + s.Name + "/" + ver.Version}
}

// vaultLocked returns the named vault; the caller holds e.mu.
func (e *Emulator) vaultLocked(name string) (*vaultState, error) {
	v := e.st.Vaults[strings.ToLower(name)]
	if v == nil {
		return nil, fmt.Errorf("vault %q: %w; create it first", name, ErrNotFound)
	}
	return v, nil
}

// addVersionLocked appends a version to the secret (creating it) and saves.
// The caller holds e.mu.
func (e *Emulator) addVersionLocked(v *vaultState, name string, spec SecretSpec, managed bool) (*secretState, *versionState, error) {
	id, err := newVersion()
	if err != nil {
		return nil, nil, err
	}
	now := e.now().Unix()
	ver := &versionState{Version: id, Value: spec.Value, ContentType: spec.ContentType, Enabled: true,
		Created: now, Updated: now, Tags: maps.Clone(spec.Tags), Managed: managed}
	if spec.Enabled != nil {
		ver.Enabled = *spec.Enabled
	}
	if spec.NotBefore != nil {
		n := spec.NotBefore.Unix()
		ver.NotBefore = &n
	}
	if spec.Expires != nil {
		x := spec.Expires.Unix()
		ver.Expires = &x
	}
	key := strings.ToLower(name)
	s := v.Secrets[key]
	created := s == nil
	if created {
		s = &secretState{Name: name}
		v.Secrets[key] = s
	}
	s.Versions = append(s.Versions, ver)
	if err := e.saveLocked(); err != nil {
		// Not saved, so not stored: the state on disk and in memory agree.
		s.Versions = s.Versions[:len(s.Versions)-1]
		if created {
			delete(v.Secrets, key)
		}
		return nil, nil, err
	}
	return s, ver, nil
}
