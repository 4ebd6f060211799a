package winstore

import (
	"encoding/json"
	"errors"
	"fmt"
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
