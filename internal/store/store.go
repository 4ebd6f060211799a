// Package store defines where installed certificates live.
//
// A Store installs one version of one observed certificate, lists the
// versions akvvm installed, removes old ones, and removes all of them (on
// uninstall). Implementations are
// filestore (a directory in the KeyVaultForLinux layout) and winstore (the
// Windows certificate store). Every implementation is atomic: a failed
// Install leaves what was installed before untouched, and no implementation
// ever changes or removes something akvvm did not install.
package store

import (
	"context"
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrMissingFiles is matched (errors.Is) by a List error that reports
// installed versions removed outside akvvm. List then still returns the
// versions that are present, and installing a missing version restores it.
var ErrMissingFiles = errors.New("installed files are missing")

// MissingFilesError is the List error that names the recorded versions
// whose files are gone (deleted outside akvvm). It matches ErrMissingFiles.
type MissingFilesError struct {
	Ref     Ref
	Missing []Installed
}

func (e *MissingFilesError) Error() string {
	files := make([]string, len(e.Missing))
	for i, m := range e.Missing {
		files[i] = m.Location
	}
	return fmt.Sprintf("%d installed version(s) of %s/%s are missing (deleted outside akvvm?): %s; installing the version again restores the file",
		len(e.Missing), e.Ref.Vault, e.Ref.Name, strings.Join(files, ", "))
}

// Unwrap lets callers match ErrMissingFiles.
func (e *MissingFilesError) Unwrap() error { return ErrMissingFiles }

// Ref names one observed certificate.
type Ref struct {
	// Vault is the vault name: the first label of the vault host, as written in the URL.
	Vault string
	// Name is the certificate's secret name.
	Name string
}

// Certificate is one version of a certificate, ready to install.
type Certificate struct {
	Ref
	// Version is the secret version (32 hex digits in Key Vault).
	Version string
	// Leaf is the certificate whose public key matches Key.
	Leaf *x509.Certificate
	// Key is the leaf's private key (*rsa.PrivateKey, *ecdsa.PrivateKey or ed25519.PrivateKey).
	Key crypto.PrivateKey
	// Chain holds the issuers in order: the leaf's issuer first, the root last if present.
	Chain []*x509.Certificate
	// PFX is the secret's PKCS #12 file as Key Vault returned it (empty
	// password), or nil when the secret was PEM. Windows imports it as is
	// unless Target.KeyAlwaysCNG is set. It holds the private key.
	PFX []byte
}

// ACL grants read access to one installed file (Linux) to a user and/or group.
type ACL struct {
	User  string
	Group string
}

// Target says where and how a certificate is installed. Fields that do not
// apply to a platform are ignored by its store.
type Target struct {
	// Location is a directory (Linux) or LocalMachine / CurrentUser (Windows).
	Location string
	// StoreName is the Windows store name, such as MY or TrustedPeople.
	StoreName string
	// LinkName overrides the name of the Linux symbolic link.
	LinkName string
	// ACLs are applied to installed files when not empty (Linux).
	ACLs []ACL
	// Outputs are the extra files written beside the KeyVaultForLinux
	// file, switched with it (Linux, akvvm only); the zero value writes
	// none.
	Outputs Outputs
	// RelativeLinks makes the links hold their target's name relative to
	// the store directory instead of its absolute path (Linux, akvvm
	// only), so they still resolve when the directory is moved or
	// mounted elsewhere.
	RelativeLinks bool
	// Accounts get read access to the private key (Windows).
	Accounts []string
	// KeyExportable marks the private key exportable (Windows 3.0).
	KeyExportable bool
	// LinkOnRenewal links the previous version to the new one (Windows).
	LinkOnRenewal bool
	// KeyAlwaysCNG puts the private key into CNG (the Microsoft Software Key
	// Storage Provider) whatever the PFX names (Windows 4.0). When false the
	// key goes where PFX import puts it by default (Windows 1.0 and 3.0): to
	// the CAPI provider the PFX's key bag names, otherwise to CNG.
	KeyAlwaysCNG bool
	// KeyIsolation asks for KeyGuard (virtualization-based key isolation)
	// where the machine supports it (Windows 4.0).
	KeyIsolation bool
}

// Installed describes one version akvvm installed.
type Installed struct {
	Ref
	Version string
	// Thumbprint is the upper-case hex SHA-1 of the leaf.
	Thumbprint string
	// NotBefore and NotAfter are the leaf's validity; NotBefore is zero
	// for a Linux version recorded by an akvvm that did not record it.
	NotBefore time.Time
	NotAfter  time.Time
	// InstalledAt is when akvvm installed this version.
	InstalledAt time.Time
	// Location is where it lives: a file path, or store\thumbprint on Windows.
	Location string
	// Current marks the version the store presents as current: the target
	// of the Linux link (with output files or relative links asked for,
	// only once both links hold what the target asks), or on Windows the
	// version installed or made current last.
	Current bool
	// Unchanged, set by Install and MakeCurrent, says the version was
	// already installed and current, so nothing changed: another akvvm
	// process sharing the store (a service and a manual sync) got there
	// first. The caller raises no event and runs no hook for it.
	Unchanged bool
}

// Store installs, lists, switches and removes certificate versions.
type Store interface {
	// Install puts c at t and makes it the current version. Installing a
	// version that is already installed makes it current and returns its
	// record; when it was current already, the record says Unchanged.
	Install(ctx context.Context, t Target, c Certificate) (Installed, error)
	// List returns the versions of ref that akvvm installed at t: the
	// current one first, then the others, newest installed first.
	List(ctx context.Context, t Target, ref Ref) ([]Installed, error)
	// MakeCurrent makes an installed version of ref current again without
	// downloading it, also backwards to an older version: the Linux link
	// moves to it; on Windows, with t.LinkOnRenewal, the version that was
	// current gets a renewal link to it and its own renewal link is
	// cleared. A version that is not installed is an error.
	MakeCurrent(ctx context.Context, t Target, ref Ref, version string) (Installed, error)
	// Delete removes the listed versions of ref at t and returns what it
	// removed. It refuses to remove the current version; a version that
	// is not installed is skipped.
	Delete(ctx context.Context, t Target, ref Ref, versions []string) ([]Installed, error)
	// Remove removes every version of ref that akvvm installed at t, and
	// the link it maintains (Linux), and returns what it removed. Nothing
	// akvvm did not install is touched; removing what is already gone
	// succeeds with nothing removed.
	Remove(ctx context.Context, t Target, ref Ref) ([]Installed, error)
}

// Recoverer is a Store that cleans up after a crash: it removes its own
// temporary files and finishes or undoes writes a killed process left
// half done. The agent calls it at start and before every pass, for every
// target of its spec; it never touches anything akvvm did not write.
type Recoverer interface {
	Recover(ctx context.Context, targets []Target) error
}

// Enumerator is a Store that names every certificate akvvm installed at a
// target, whatever settings installed it. Uninstall uses it to remove
// certificates that no recorded settings name any more.
type Enumerator interface {
	// Owned returns the certificates akvvm installed at t; none when it
	// installed nothing there.
	Owned(ctx context.Context, t Target) ([]Ref, error)
}

// Thumbprint returns the upper-case hex SHA-1 of a DER certificate, as
// Windows shows it; every store and status names certificates this way.
func Thumbprint(der []byte) string {
	sum := sha1.Sum(der) // identification, not security
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}
