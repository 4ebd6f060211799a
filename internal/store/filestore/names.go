package filestore

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/akvvm/akvvm/internal/store"
)

// Names of akvvm's own files in a store directory. They share the reserved
// prefix store.ReservedPrefix so that no certificate file or link can
// collide with them.
const (
	reservedPrefix = store.ReservedPrefix
	// stateFileName is the whole-store state of akvvm before per-certificate
	// records; it is migrated on first use (see migrate.go).
	stateFileName  = ".akvvm-state.json"
	lockFileName   = ".akvvm.lock"
	recordsDirName = ".akvvm-records"
	recordSuffix   = ".json"
	certLockSuffix = ".lock"
	tempPrefix     = ".akvvm-tmp-"
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

// checkLinkName applies the shared link name rules (store.CheckLinkName).
func checkLinkName(name string) error { return store.CheckLinkName(name) }

// checkLocation applies the shared directory rules (store.CheckDirectory)
// and returns the directory cleaned.
func checkLocation(loc string) (string, error) {
	if err := store.CheckDirectory(loc); err != nil {
		return "", err
	}
	return filepath.Clean(loc), nil
}

// versionFileName is "<vault>.<certname>.<version>", as KeyVaultForLinux names them.
func versionFileName(ref store.Ref, version string) string {
	return ref.Vault + "." + ref.Name + "." + version
}

// certBase is "<vault>.<certname>", the stem of ref's record and lock file.
func certBase(ref store.Ref) string { return ref.Vault + "." + ref.Name }

// recordFileName is the name of ref's record inside the records directory.
func recordFileName(ref store.Ref) string { return certBase(ref) + recordSuffix }

// certLockFileName is the name of ref's lock file inside the records directory.
func certLockFileName(ref store.Ref) string { return certBase(ref) + certLockSuffix }

// tempTag identifies ref in the names of its temp files, so Recover knows
// which record to read from a directory listing alone. A hash keeps the name
// short whatever the lengths of the vault and certificate names.
func tempTag(ref store.Ref) string {
	sum := sha256.Sum256([]byte(certBase(ref)))
	return hex.EncodeToString(sum[:8])
}

// tempPattern is the os.CreateTemp pattern of ref's temp files.
func tempPattern(ref store.Ref) string { return tempPrefix + tempTag(ref) + "-*" }

// tagOfTemp returns the tag in a temp file name, or "".
func tagOfTemp(name string) string {
	rest, ok := strings.CutPrefix(name, tempPrefix)
	if !ok {
		return ""
	}
	tag, _, ok := strings.Cut(rest, "-")
	if !ok || len(tag) != 16 {
		return ""
	}
	return tag
}

// isTempName reports whether name is one of akvvm's temp files or links.
func isTempName(name string) bool { return strings.HasPrefix(name, tempPrefix) }

// refOfFile returns the certificate a version file name belongs to. Names
// contain no dots besides the two separators, so the split is unambiguous.
func refOfFile(name string) (store.Ref, string, bool) {
	parts := strings.Split(name, ".")
	if len(parts) != 3 || !validPart(parts[0]) || !validPart(parts[1]) || !validPart(parts[2]) {
		return store.Ref{}, "", false
	}
	return store.Ref{Vault: parts[0], Name: parts[1]}, parts[2], true
}

// refOfRecord returns the certificate a record file name belongs to.
func refOfRecord(name string) (store.Ref, bool) {
	stem, ok := strings.CutSuffix(name, recordSuffix)
	if !ok {
		return store.Ref{}, false
	}
	vault, cert, ok := strings.Cut(stem, ".")
	ref := store.Ref{Vault: vault, Name: cert}
	return ref, ok && checkRef(ref) == nil
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
