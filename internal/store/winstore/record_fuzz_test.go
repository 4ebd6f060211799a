package winstore

import (
	"testing"
	"time"
)

// FuzzParseMarker feeds parseMarker the description property of any
// certificate in a store, which anyone who can write the store sets. It
// never panics, and a marker it accepts names a certificate and survives
// a round trip.
func FuzzParseMarker(f *testing.F) {
	f.Add(record{Vault: "kv1", Name: "web", Version: "v1", Location: "LocalMachine", Store: "MY", InstalledAt: time.Unix(1, 0).UTC()}.marker())
	f.Add(markerPrefix + `{"vault":"","name":"web"}`)
	f.Add(markerPrefix + `{"vault":"kv1","name":"web","version":"v1","installedAt":"not a time"}`)
	f.Add("Some other tool's description")
	f.Fuzz(func(t *testing.T, desc string) {
		r, err := parseMarker(desc)
		if err != nil {
			return
		}
		if r.Vault == "" || r.Name == "" || r.Version == "" {
			t.Fatalf("accepted marker %q without vault, name or version: %+v", desc, r)
		}
		again, err := parseMarker(r.marker())
		if err != nil {
			t.Fatalf("re-encoded marker does not parse: %v", err)
		}
		if !again.InstalledAt.Equal(r.InstalledAt) || !again.CurrentAt.Equal(r.CurrentAt) {
			t.Fatalf("round trip changed the times: %+v, %+v", r, again)
		}
		again.InstalledAt, again.CurrentAt, r.InstalledAt, r.CurrentAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if again != r {
			t.Fatalf("round trip changed the marker: %+v, %+v", r, again)
		}
	})
}
