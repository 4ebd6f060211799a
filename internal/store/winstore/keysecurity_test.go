package winstore

import (
	"errors"
	"strings"
	"testing"
)

func TestKeySecurityDefaultIsAdministratorsAndSystemOnly(t *testing.T) {
	got, err := KeySecurity(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "D:P(A;;FA;;;S-1-5-32-544)(A;;FA;;;S-1-5-18)"; got != want {
		t.Fatalf("KeySecurity() = %q, want %q", got, want)
	}
}

func TestKeySecurityGrantsReadersReadOnce(t *testing.T) {
	got, err := KeySecurity([]string{"S-1-5-21-1-2-3-1001"}, []string{"S-1-5-20", "S-1-5-19", "S-1-5-20", "S-1-5-18", "S-1-5-21-1-2-3-1001"})
	if err != nil {
		t.Fatal(err)
	}
	want := "D:P(A;;FA;;;S-1-5-32-544)(A;;FA;;;S-1-5-18)(A;;FA;;;S-1-5-21-1-2-3-1001)(A;;FR;;;S-1-5-20)(A;;FR;;;S-1-5-19)"
	if got != want {
		t.Fatalf("KeySecurity = %q\nwant          %q", got, want)
	}
}

func TestKeySecurityRejectsNonSIDs(t *testing.T) {
	for _, bad := range []string{"Network Service", "S-1", "S-1-5-20)(A;;FA;;;WD", ""} {
		if _, err := KeySecurity(nil, []string{bad}); err == nil {
			t.Errorf("KeySecurity accepted reader %q", bad)
		}
		if _, err := KeySecurity([]string{bad}, nil); err == nil {
			t.Errorf("KeySecurity accepted full-control %q", bad)
		}
	}
}

func TestResolveAccounts(t *testing.T) {
	lookup := func(a string) (string, error) {
		if a == `CONTOSO\web` {
			return "S-1-5-21-9-9-9-1234", nil
		}
		return "", errors.New("No mapping between account names and security IDs was done.")
	}
	got, err := resolveAccounts([]string{"Network Service", "local service", `NT AUTHORITY\SYSTEM`, "IIS_IUSRS", "s-1-5-32-545", `CONTOSO\web`}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"S-1-5-20", "S-1-5-19", "S-1-5-18", "S-1-5-32-568", "S-1-5-32-545", "S-1-5-21-9-9-9-1234"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("resolveAccounts = %v, want %v", got, want)
	}
}

func TestResolveAccountsNamesEveryUnknownAccount(t *testing.T) {
	lookup := func(string) (string, error) { return "", errors.New("not found") }
	_, err := resolveAccounts([]string{"Network Service", "nosuchuser", "", `CONTOSO\ghost`}, lookup)
	if err == nil {
		t.Fatal("unknown accounts were accepted")
	}
	for _, want := range []string{`"nosuchuser"`, `"CONTOSO\\ghost"`, "empty", "accounts"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}
