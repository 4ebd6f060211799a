package winstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/akvvm/akvvm/internal/store"
)

// markerPrefix starts the description of every certificate akvvm installed.
// A certificate whose description does not start with it is never touched.
const markerPrefix = "akvvm-managed/1 "

// record is what akvvm stores on an installed leaf to find it again.
type record struct {
	Vault       string    `json:"vault"`
	Name        string    `json:"name"`
	Version     string    `json:"version"`
	Location    string    `json:"location"`
	Store       string    `json:"store"`
	InstalledAt time.Time `json:"installedAt"`
	// CurrentAt is when MakeCurrent last made this version current again;
	// zero (and absent from the JSON) until then, so markers written
	// before it existed still parse.
	CurrentAt time.Time `json:"currentAt,omitzero"`
}

// currentSince is when this version last became current: the later of
// InstalledAt and CurrentAt. The version with the latest one is current.
func (r record) currentSince() time.Time {
	if r.CurrentAt.After(r.InstalledAt) {
		return r.CurrentAt
	}
	return r.InstalledAt
}

// marker encodes r as a description property value.
func (r record) marker() string {
	b, err := json.Marshal(r)
	if err != nil {
		// A record holds only strings and a time: Marshal cannot fail.
		panic(err)
	}
	return markerPrefix + string(b)
}

// friendlyName names the vault, certificate and version for people.
func (r record) friendlyName() string {
	return r.Vault + "/" + r.Name + "/" + r.Version
}

// errNotManaged reports a description that is not akvvm's marker.
var errNotManaged = errors.New("not installed by akvvm")

// parseMarker decodes a description property value written by marker.
func parseMarker(desc string) (record, error) {
	rest, ok := strings.CutPrefix(desc, markerPrefix)
	if !ok {
		return record{}, errNotManaged
	}
	var r record
	if err := json.Unmarshal([]byte(rest), &r); err != nil {
		return record{}, fmt.Errorf("akvvm marker is damaged: %w", err)
	}
	if r.Vault == "" || r.Name == "" || r.Version == "" {
		return record{}, errors.New("akvvm marker is damaged: vault, name or version missing")
	}
	return r, nil
}

// matches reports whether r is a version of ref installed at t.
func (r record) matches(t store.Target, ref store.Ref) bool {
	return r.Vault == ref.Vault && r.Name == ref.Name &&
		strings.EqualFold(r.Location, t.Location) && strings.EqualFold(r.Store, t.StoreName)
}

// currentFirst orders versions as List returns them: the current one (the
// latest currentSince) first, then the others newest installed first. Ties
// go to the higher version string, so the order never depends on the
// store's enumeration order.
func currentFirst[T any](xs []T, rec func(T) record) {
	slices.SortStableFunc(xs, func(a, b T) int {
		ra, rb := rec(a), rec(b)
		if c := rb.InstalledAt.Compare(ra.InstalledAt); c != 0 {
			return c
		}
		return strings.Compare(rb.Version, ra.Version)
	})
	cur := 0
	for i := range xs {
		if rec(xs[i]).currentSince().After(rec(xs[cur]).currentSince()) {
			cur = i
		}
	}
	if cur > 0 {
		c := xs[cur]
		copy(xs[1:cur+1], xs[:cur])
		xs[0] = c
	}
}

// ownedElsewhereError refuses to install c at t over the same certificate
// that akvvm installed for another observed certificate (owner): removing
// it from the store, as for a foreign certificate, would break that entry.
func ownedElsewhereError(thumb, storeName string, t store.Target, c store.Certificate, owner record) error {
	where := ""
	if !strings.EqualFold(owner.Location, t.Location) || !strings.EqualFold(owner.Store, t.StoreName) {
		where = " at " + owner.Location + `\` + owner.Store
	}
	return fmt.Errorf("certificate %s is already in %s: akvvm installed it for the observed certificate %s/%s (version %s)%s, and %s/%s holds the same certificate: remove one of the two entries from the settings instead of removing the certificate from the store, which the other entry still uses; version %s of %s/%s was not installed",
		thumb, storeName, owner.Vault, owner.Name, owner.Version, where, c.Vault, c.Name, c.Version, c.Vault, c.Name)
}
