package keyvault

import (
	"sort"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

// Version is the metadata of one secret version; it never holds the value.
type Version struct {
	ID          string
	Version     string
	Enabled     bool
	NotBefore   time.Time
	Expires     time.Time
	Created     time.Time
	Updated     time.Time
	ContentType string
	Managed     bool
}

// Usable reports whether the version is enabled and valid at now.
func (v Version) Usable(now time.Time) bool { return v.Unusable(now) == "" }

// Unusable says why the version cannot be used at now (disabled, expired,
// not valid yet), or "" when it can.
func (v Version) Unusable(now time.Time) string {
	switch {
	case !v.Enabled:
		return "disabled in the vault"
	case !v.Expires.IsZero() && !now.Before(v.Expires):
		return "expired " + v.Expires.UTC().Format(time.RFC3339)
	case !v.NotBefore.IsZero() && now.Before(v.NotBefore):
		return "not valid before " + v.NotBefore.UTC().Format(time.RFC3339)
	}
	return ""
}

// Newest returns up to n usable versions, newest (by creation time) first.
func Newest(versions []Version, now time.Time, n int) []Version {
	var usable []Version
	for _, v := range versions {
		if v.Usable(now) {
			usable = append(usable, v)
		}
	}
	sort.SliceStable(usable, func(i, j int) bool {
		if !usable[i].Created.Equal(usable[j].Created) {
			return usable[i].Created.After(usable[j].Created)
		}
		return usable[i].Version > usable[j].Version
	})
	if len(usable) > n {
		usable = usable[:n]
	}
	return usable
}

// Secret is one fetched version with its value. The value is kept out of
// fmt and slog output.
type Secret struct {
	Version
	value string
}

// NewSecret returns a secret holding value, for tests and other sources.
func NewSecret(v Version, value string) *Secret { return &Secret{Version: v, value: value} }

// Value returns the secret value.
func (s *Secret) Value() string { return s.value }

// String describes the secret without its value.
func (s Secret) String() string { return "secret " + s.ID }

func versionFrom(id *azsecrets.ID, a *azsecrets.SecretAttributes, contentType *string, managed *bool) Version {
	var v Version
	if id != nil {
		v.ID = string(*id)
		v.Version = id.Version()
	}
	if contentType != nil {
		v.ContentType = *contentType
	}
	if managed != nil {
		v.Managed = *managed
	}
	v.Enabled = true
	if a != nil {
		if a.Enabled != nil {
			v.Enabled = *a.Enabled
		}
		v.NotBefore = deref(a.NotBefore)
		v.Expires = deref(a.Expires)
		v.Created = deref(a.Created)
		v.Updated = deref(a.Updated)
	}
	return v
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
