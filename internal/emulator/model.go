package emulator

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// Permission is a secrets permission of a vault access list.
type Permission string

// The secrets permissions the emulator enforces.
const (
	PermGet    Permission = "get"
	PermList   Permission = "list"
	PermSet    Permission = "set"
	PermDelete Permission = "delete"
)

// ParsePermission parses a permission name, case-insensitively.
func ParsePermission(s string) (Permission, error) {
	switch p := Permission(strings.ToLower(strings.TrimSpace(s))); p {
	case PermGet, PermList, PermSet, PermDelete:
		return p, nil
	}
	return "", fmt.Errorf("unknown permission %q: use get, list, set or delete", s)
}

// permissionFor is the permission an operation needs.
func permissionFor(op string) Permission {
	switch op {
	case OpListSecrets, OpListVersions:
		return PermList
	case OpSetSecret, OpUpdateSecret:
		return PermSet
	case OpDeleteSecret:
		return PermDelete
	}
	return PermGet
}

// persistedState is everything the emulator keeps across restarts,
// apart from the CA (kept by pki) and the token key.
type persistedState struct {
	Format int `json:"format"`
	// Identities are the user-assigned identities' client ids.
	Identities []string               `json:"identities"`
	Vaults     map[string]*vaultState `json:"vaults"` // key: lower-case vault name
}

// vaultState is one vault.
type vaultState struct {
	Name  string `json:"name"`
	Cloud string `json:"cloud"`
	// Access maps a client id (lower case) to its permissions; nil grants everyone everything.
	Access  map[string][]Permission `json:"access,omitempty"`
	Secrets map[string]*secretState `json:"secrets"` // key: lower-case secret name
}

// secretState is one secret with all its versions, oldest first.
type secretState struct {
	Name     string          `json:"name"`
	Versions []*versionState `json:"versions"`
	// Cert holds the parameters of the last certificate create, for rotation.
	Cert *CertificateSpec `json:"cert,omitempty"`
}

// versionState is one version of a secret.
type versionState struct {
	Version     string            `json:"version"`
	Value       string            `json:"value"`
	ContentType string            `json:"contentType,omitempty"`
	Enabled     bool              `json:"enabled"`
	NotBefore   *int64            `json:"nbf,omitempty"`
	Expires     *int64            `json:"exp,omitempty"`
	Created     int64             `json:"created"`
	Updated     int64             `json:"updated"`
	Tags        map[string]string `json:"tags,omitempty"`
	Managed     bool              `json:"managed,omitempty"`
}

func newPersistedState() *persistedState {
	return &persistedState{Format: 1, Vaults: map[string]*vaultState{}}
}

// latest returns the newest version, or nil.
func (s *secretState) latest() *versionState {
	if len(s.Versions) == 0 {
		return nil
	}
	return s.Versions[len(s.Versions)-1]
}

// find returns the version named v ("" = latest), or nil.
func (s *secretState) find(v string) *versionState {
	if v == "" {
		return s.latest()
	}
	for _, ver := range s.Versions {
		if strings.EqualFold(ver.Version, v) {
			return ver
		}
	}
	return nil
}

// allows reports whether clientID holds perm on the vault.
func (v *vaultState) allows(clientID string, perm Permission) bool {
	if v.Access == nil {
		return true
	}
	return slices.Contains(v.Access[strings.ToLower(clientID)], perm)
}

// sortedSecretNames returns the vault's secret keys in name order.
func (v *vaultState) sortedSecretNames() []string {
	keys := make([]string, 0, len(v.Secrets))
	for k := range v.Secrets {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// newVersion returns a fresh version id: 32 lowercase hex digits.
func newVersion() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate secret version: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
