package winstore

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// DefaultLockWait bounds how long a change waits for another akvvm process
// that holds the store's lock: as long as one check may take on the network.
const DefaultLockWait = 2 * time.Minute

// lockFileName names the lock file of one store, such as
// "CurrentUser-MY.lock": the location and store name in lower case, with
// every byte other than a letter, digit, '.', '-' or '_' written as %XX.
func lockFileName(location, storeName string) string {
	var b strings.Builder
	for _, part := range []string{location, "-", storeName} {
		if part == "-" {
			b.WriteByte('-')
			continue
		}
		for _, c := range []byte(strings.ToLower(part)) {
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.' && b.Len() > 0, c == '-', c == '_':
				b.WriteByte(c)
			default:
				fmt.Fprintf(&b, "%%%02X", c)
			}
		}
	}
	return b.String() + ".lock"
}

// lockDirFor is where the lock files of a location live: LocalMachine
// stores are locked in %ProgramData%\akvvm\locks, CurrentUser stores (one
// set per user) in %LOCALAPPDATA%\akvvm\locks. getenv reads the environment.
func lockDirFor(location string, getenv func(string) string) (string, error) {
	if strings.EqualFold(location, "CurrentUser") {
		base := getenv("LOCALAPPDATA")
		if base == "" {
			return "", fmt.Errorf("LOCALAPPDATA is not set: cannot place the lock file of the CurrentUser certificate stores")
		}
		return filepath.Join(base, "akvvm", "locks"), nil
	}
	base := getenv("ProgramData")
	if base == "" {
		base = `C:\ProgramData`
	}
	return filepath.Join(base, "akvvm", "locks"), nil
}
