package winstore

import (
	"path/filepath"
	"testing"
)

func TestLockFileNames(t *testing.T) {
	for _, c := range []struct{ location, store, want string }{
		{"LocalMachine", "MY", "localmachine-my.lock"},
		{"CurrentUser", "TrustedPeople", "currentuser-trustedpeople.lock"},
		{"LocalMachine", "Remote Desktop", "localmachine-remote%20desktop.lock"},
		{"LocalMachine", `..\x/y:z`, "localmachine-..%5Cx%2Fy%3Az.lock"},
	} {
		if got := lockFileName(c.location, c.store); got != c.want {
			t.Errorf("lockFileName(%q, %q) = %q, want %q", c.location, c.store, got, c.want)
		}
	}
}

func TestLockDirPerLocation(t *testing.T) {
	env := map[string]string{"ProgramData": `C:\ProgramData`, "LOCALAPPDATA": `C:\Users\u\AppData\Local`}
	getenv := func(k string) string { return env[k] }
	if got, err := lockDirFor("LocalMachine", getenv); err != nil || got != filepath.Join(`C:\ProgramData`, "akvvm", "locks") {
		t.Errorf("LocalMachine: %q, %v", got, err)
	}
	if got, err := lockDirFor("currentuser", getenv); err != nil || got != filepath.Join(`C:\Users\u\AppData\Local`, "akvvm", "locks") {
		t.Errorf("CurrentUser: %q, %v", got, err)
	}
	delete(env, "LOCALAPPDATA")
	if _, err := lockDirFor("CurrentUser", getenv); err == nil {
		t.Error("CurrentUser without LOCALAPPDATA: no error")
	}
}
