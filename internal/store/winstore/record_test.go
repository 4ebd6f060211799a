package winstore

import (
	"errors"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/store"
)

func TestMarkerRoundTrip(t *testing.T) {
	r := record{Vault: "kv1", Name: "web", Version: "0123456789abcdef0123456789abcdef", Location: "LocalMachine", Store: "MY",
		InstalledAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}
	got, err := parseMarker(r.marker())
	if err != nil {
		t.Fatal(err)
	}
	if got != r {
		t.Fatalf("round trip: got %+v, want %+v", got, r)
	}
	if fn := r.friendlyName(); fn != "kv1/web/0123456789abcdef0123456789abcdef" {
		t.Fatalf("friendly name %q", fn)
	}
}

func TestForeignDescriptionsAreNotManaged(t *testing.T) {
	for _, desc := range []string{"", "my own certificate", "akvvm-managed/2 {}", `{"vault":"kv1"}`} {
		if _, err := parseMarker(desc); !errors.Is(err, errNotManaged) {
			t.Errorf("parseMarker(%q) = %v, want errNotManaged", desc, err)
		}
	}
	for _, desc := range []string{markerPrefix + "{", markerPrefix + `{"vault":"kv1"}`} {
		if _, err := parseMarker(desc); err == nil || errors.Is(err, errNotManaged) {
			t.Errorf("parseMarker(%q) = %v, want a damaged-marker error", desc, err)
		}
	}
}

func TestRecordMatchesOnlyItsTarget(t *testing.T) {
	r := record{Vault: "kv1", Name: "web", Version: "v1", Location: "LocalMachine", Store: "MY"}
	ref := store.Ref{Vault: "kv1", Name: "web"}
	cases := []struct {
		t    store.Target
		ref  store.Ref
		want bool
	}{
		{store.Target{Location: "LocalMachine", StoreName: "MY"}, ref, true},
		{store.Target{Location: "LocalMachine", StoreName: "my"}, ref, true},
		{store.Target{Location: "CurrentUser", StoreName: "MY"}, ref, false},
		{store.Target{Location: "LocalMachine", StoreName: "TrustedPeople"}, ref, false},
		{store.Target{Location: "LocalMachine", StoreName: "MY"}, store.Ref{Vault: "kv1", Name: "api"}, false},
		{store.Target{Location: "LocalMachine", StoreName: "MY"}, store.Ref{Vault: "kv2", Name: "web"}, false},
	}
	for _, c := range cases {
		if got := r.matches(c.t, c.ref); got != c.want {
			t.Errorf("matches(%+v, %+v) = %v, want %v", c.t, c.ref, got, c.want)
		}
	}
}
