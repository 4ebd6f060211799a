package filestore

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/akvvm/akvvm/internal/store"
)

// Names of akvvm's own files in a store directory. They share the reserved
// prefix ".akvvm" so that no certificate file or link can collide with them.
const (
	reservedPrefix = ".akvvm"
	stateFileName  = ".akvvm-state.json"
	lockFileName   = ".akvvm.lock"
	tempPattern    = ".akvvm-tmp-*"
	tempLinkPrefix = ".akvvm-tmp-link-"
)

// maxNameLen is Key Vault's limit on secret names (127); vault names and
// versions are shorter, so this bound never rejects a real name.
const maxNameLen = 127

// validPart reports whether s is a Key Vault vault name, secret name or
// version: 1 to 127 ASCII letters, digits and dashes. Dots and path
// separators are excluded, so "<vault>.<name>.<version>" is unambiguous and
// always a plain file name.
func validPart(s string) bool {
	if s == "" || len(s) > maxNameLen {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
		default:
			return false
		}
	}
	return true
}

func checkRef(ref store.Ref) error {
	if !validPart(ref.Vault) {
		return fmt.Errorf("vault name %q is not a Key Vault name (letters, digits and dashes): fix the certificate URL", ref.Vault)
	}
	if !validPart(ref.Name) {
		return fmt.Errorf("certificate name %q is not a Key Vault secret name (letters, digits and dashes): fix the certificate URL", ref.Name)
	}
	return nil
}

func checkVersion(v string) error {
	if !validPart(v) {
		return fmt.Errorf("certificate version %q is not a Key Vault version (letters, digits and dashes)", v)
	}
	return nil
}

// checkLinkName accepts a plain file name that is not one of akvvm's own.
func checkLinkName(name string) error {
	switch {
	case name == "", name == ".", name == "..", len(name) > 255,
		strings.ContainsAny(name, "/\\\x00"):
		return fmt.Errorf("symbolic link name %q must be a plain file name without slashes: fix customSymbolicLinkName", name)
	case strings.HasPrefix(name, reservedPrefix):
		return fmt.Errorf("symbolic link name %q starts with %q, which akvvm reserves for its own files: choose another customSymbolicLinkName", name, reservedPrefix)
	}
	return nil
}

// checkLocation accepts an absolute directory path and returns it cleaned.
func checkLocation(loc string) (string, error) {
	if loc == "" {
		return "", fmt.Errorf("certificate store location is empty: set certificateStoreLocation to an absolute directory such as /var/lib/waagent/Microsoft.Azure.KeyVault.Store")
	}
	if !filepath.IsAbs(loc) {
		return "", fmt.Errorf("certificate store location %q is relative: set certificateStoreLocation to an absolute directory", loc)
	}
	return filepath.Clean(loc), nil
}

// versionFileName is "<vault>.<certname>.<version>", as KeyVaultForLinux names them.
func versionFileName(ref store.Ref, version string) string {
	return ref.Vault + "." + ref.Name + "." + version
}

// linkName is the target's custom link name or "<vault>.<certname>".
func linkName(t store.Target, ref store.Ref) (string, error) {
	name := t.LinkName
	if name == "" {
		name = ref.Vault + "." + ref.Name
	}
	if err := checkLinkName(name); err != nil {
		return "", err
	}
	return name, nil
}
