package keyvault

import (
	"reflect"
	"testing"
	"time"
)

func TestNewest(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return now.Add(time.Duration(h) * time.Hour) }
	versions := []Version{
		{Version: "a", Enabled: true, Created: at(-5)},
		{Version: "b", Enabled: true, Created: at(-3)},
		{Version: "c", Enabled: false, Created: at(-2)},                   // disabled
		{Version: "d", Enabled: true, Created: at(-1), NotBefore: at(1)},  // not yet valid
		{Version: "e", Enabled: true, Created: at(-4), Expires: at(-1)},   // expired
		{Version: "f", Enabled: true, Created: at(-4), Expires: at(24)},   // valid
		{Version: "g", Enabled: true, Created: at(-6), NotBefore: at(-7)}, // valid, oldest
	}
	var got []string
	for _, v := range Newest(versions, now, 2) {
		got = append(got, v.Version)
	}
	if want := []string{"b", "f"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Newest(2) = %v, want %v", got, want)
	}
	if n := len(Newest(versions, now, 10)); n != 4 {
		t.Errorf("Newest(10) returned %d usable versions, want 4", n)
	}
	if n := len(Newest(nil, now, 2)); n != 0 {
		t.Errorf("Newest(nil) returned %d versions", n)
	}
}

func TestSecretHidesValue(t *testing.T) {
	s := NewSecret(Version{ID: "https://v.vault.azure.net/secrets/n/1"}, "top-secret-value")
	if got := s.String(); got != "secret https://v.vault.azure.net/secrets/n/1" {
		t.Errorf("String() = %q", got)
	}
	if s.Value() != "top-secret-value" {
		t.Error("Value() lost the value")
	}
}
