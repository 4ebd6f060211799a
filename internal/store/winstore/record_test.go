package winstore

import (
	"errors"
	"strings"
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

// A marker written before CurrentAt existed still parses, and a record
// that was never made current again writes no currentAt.
func TestMarkerWithoutCurrentAt(t *testing.T) {
	installed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	old := markerPrefix + `{"vault":"kv1","name":"web","version":"v1","location":"LocalMachine","store":"MY","installedAt":"2026-01-02T03:04:05Z"}`
	r, err := parseMarker(old)
	if err != nil {
		t.Fatal(err)
	}
	if !r.CurrentAt.IsZero() || !r.InstalledAt.Equal(installed) || !r.currentSince().Equal(installed) {
		t.Fatalf("old marker parsed as %+v", r)
	}
	if r.marker() != old {
		t.Errorf("re-encoded:\n%s\nwant\n%s", r.marker(), old)
	}
	r.CurrentAt = installed.Add(time.Hour)
	if !strings.Contains(r.marker(), `"currentAt":"2026-01-02T04:04:05Z"`) {
		t.Errorf("marker lacks currentAt: %s", r.marker())
	}
	if !r.currentSince().Equal(r.CurrentAt) {
		t.Errorf("currentSince = %v, want CurrentAt", r.currentSince())
	}
	if got, err := parseMarker(r.marker()); err != nil || got != r {
		t.Errorf("round trip with currentAt: %+v, %v", got, err)
	}
}

func TestCurrentFirstOrdersByCurrentAtThenInstalledAt(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	cases := []struct {
		name string
		recs []record
		want string
	}{
		{"installed only", []record{{Version: "v1", InstalledAt: at(1)}, {Version: "v3", InstalledAt: at(3)}, {Version: "v2", InstalledAt: at(2)}}, "v3 v2 v1"},
		{"older made current", []record{{Version: "v1", InstalledAt: at(1)}, {Version: "v3", InstalledAt: at(3)}, {Version: "v2", InstalledAt: at(2), CurrentAt: at(4)}}, "v2 v3 v1"},
		{"oldest made current", []record{{Version: "v1", InstalledAt: at(1), CurrentAt: at(4)}, {Version: "v3", InstalledAt: at(3)}, {Version: "v2", InstalledAt: at(2)}}, "v1 v3 v2"},
		{"made current, then a newer install", []record{{Version: "v2", InstalledAt: at(2), CurrentAt: at(4)}, {Version: "v3", InstalledAt: at(3)}, {Version: "v4", InstalledAt: at(5)}}, "v4 v3 v2"},
		{"back and forth", []record{{Version: "v2", InstalledAt: at(2), CurrentAt: at(4)}, {Version: "v3", InstalledAt: at(3), CurrentAt: at(5)}}, "v3 v2"},
		{"same second, higher version wins", []record{{Version: "a", InstalledAt: at(1)}, {Version: "b", InstalledAt: at(1)}}, "b a"},
		{"none", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			currentFirst(c.recs, func(r record) record { return r })
			var got []string
			for _, r := range c.recs {
				got = append(got, r.Version)
			}
			if s := strings.Join(got, " "); s != c.want {
				t.Errorf("order %q, want %q", s, c.want)
			}
		})
	}
}

func TestOwnedElsewhereNamesTheOwner(t *testing.T) {
	owner := record{Vault: "kv1", Name: "web", Version: "v1", Location: "LocalMachine", Store: "MY"}
	c := store.Certificate{Ref: store.Ref{Vault: "kv2", Name: "copy"}, Version: "v9"}
	same := ownedElsewhereError("AB12", `LocalMachine\MY`, store.Target{Location: "LocalMachine", StoreName: "my"}, c, owner).Error()
	for _, want := range []string{"AB12", "akvvm installed it for the observed certificate kv1/web (version v1),",
		"kv2/copy holds the same certificate", "remove one of the two entries from the settings", "version v9 of kv2/copy was not installed"} {
		if !strings.Contains(same, want) {
			t.Errorf("error %q does not contain %q", same, want)
		}
	}
	other := ownedElsewhereError("AB12", `CurrentUser\MY`, store.Target{Location: "CurrentUser", StoreName: "MY"}, c, owner).Error()
	if !strings.Contains(other, `(version v1) at LocalMachine\MY,`) {
		t.Errorf("error %q does not say where the owner installed it", other)
	}
}
