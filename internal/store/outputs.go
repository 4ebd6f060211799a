package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Outputs are the extra files akvvm writes for one certificate beside the
// KeyVaultForLinux file (an akvvm option, Linux only). Each version gets a
// directory holding the files asked for, and one link, the certificate's
// link name with OutputsLinkSuffix, points at the current version's
// directory; the zero value asks for none and keeps the KeyVaultForLinux
// layout exactly.
type Outputs struct {
	// Cert is the leaf alone (OutputCert).
	Cert bool
	// Chain is the issuers, leaf's issuer first (OutputChain).
	Chain bool
	// FullChain is the leaf, then the issuers (OutputFullChain).
	FullChain bool
	// Key is the private key as PKCS #8 (OutputKey).
	Key bool
	// PFX is the leaf, the issuers and the key as PKCS #12 (OutputPFX).
	PFX bool
	// PFXPasswordFile names the file holding the PFX password; empty for
	// an empty password. The password never appears in the settings.
	PFXPasswordFile string
}

// Any reports whether at least one output file is asked for.
func (o Outputs) Any() bool { return o.Cert || o.Chain || o.FullChain || o.Key || o.PFX }

// Files returns the names of the files asked for, in OutputFiles order.
func (o Outputs) Files() []string {
	var out []string
	for _, f := range []struct {
		on   bool
		name string
	}{{o.Cert, OutputCert}, {o.Chain, OutputChain}, {o.FullChain, OutputFullChain}, {o.Key, OutputKey}, {o.PFX, OutputPFX}} {
		if f.on {
			out = append(out, f.name)
		}
	}
	return out
}

// The names of the output files inside a version's directory.
const (
	OutputCert      = "cert.pem"
	OutputChain     = "chain.pem"
	OutputFullChain = "fullchain.pem"
	OutputKey       = "key.pem"
	OutputPFX       = "cert.pfx"
)

// OutputFiles lists every output file name, in the order Files uses.
var OutputFiles = []string{OutputCert, OutputChain, OutputFullChain, OutputKey, OutputPFX}

// OutputsLinkSuffix ends the name of the link to the current version's
// output directory: "<link name>.d".
const OutputsLinkSuffix = ".d"

// MaxPasswordFileSize bounds a PFX password file.
const MaxPasswordFileSize = 4096

// passwordField is the settings field the password file rules speak of.
const passwordField = "outputs.pfx.passwordFile"

// CheckPasswordFilePath accepts the name of a PFX password file as the
// settings give it: an absolute path of valid UTF-8 without control or
// bidirectional control characters. It returns a *NameError; the file
// itself is checked by ReadPasswordFile.
func CheckPasswordFilePath(p string) error {
	fail := func(reason, hint string) error {
		return &NameError{Field: passwordField, Value: p, Reason: reason, Hint: hint}
	}
	const example = "/etc/akvvm/pfx.pass"
	switch {
	case p == "":
		return fail("is empty", `Remove passwordFile for a PFX without password, or give the absolute path of a file holding the password, such as `+example)
	case textProblem(p) != "":
		return fail(textProblem(p), "Write the path in printable UTF-8 characters only, such as "+example)
	case !strings.HasPrefix(p, "/"):
		return fail("is relative, not an absolute path", "Write a path that starts with /, such as "+example)
	case path.Clean(p) == "/":
		return fail("is the root directory", "Give the path of a file holding the password, such as "+example)
	}
	return nil
}

// ReadPasswordFile reads a PFX password file: a regular file (a symbolic
// link to one is followed) of at most MaxPasswordFileSize bytes that
// others may neither read nor write. One trailing newline ("\n" or
// "\r\n") is not part of the password. Errors are *NameError values
// naming outputs.pfx.passwordFile and never contain the password. The
// caller clears the returned bytes after use.
func ReadPasswordFile(p string) ([]byte, error) {
	if err := CheckPasswordFilePath(p); err != nil {
		return nil, err
	}
	fail := func(reason, hint string) error {
		return &NameError{Field: passwordField, Value: p, Reason: reason, Hint: hint}
	}
	const fixMode = "Make it readable by root only: chmod 600 "
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fail("does not exist", "Create it with the PFX password on one line (printf '%s\\n' \"$PASSWORD\" > "+p+"; chmod 600 "+p+"), or remove passwordFile for a PFX without password")
	case errors.Is(err, fs.ErrPermission):
		return nil, fail("cannot be read: permission denied", "Let akvvm (root) read it: check the directories leading to it")
	case err != nil:
		return nil, fail(fmt.Sprintf("cannot be checked (%v)", errors.Unwrap(err)), "Give the path of a regular file holding the password")
	case !fi.Mode().IsRegular():
		return nil, fail("is not a regular file", "Give the path of a regular file holding the password")
	case fi.Mode().Perm()&0o006 != 0:
		return nil, fail(fmt.Sprintf("may be read or written by every user (mode %s)", fi.Mode().Perm()), fixMode+p)
	case fi.Size() > MaxPasswordFileSize:
		return nil, fail(fmt.Sprintf("is %d bytes, more than the %d a password file may have", fi.Size(), MaxPasswordFileSize), "Put the password alone in the file")
	}
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return nil, fail("cannot be read: permission denied", "Let akvvm (root) read it")
		}
		return nil, fail(fmt.Sprintf("cannot be opened (%v)", errors.Unwrap(err)), "Give the path of a regular file holding the password")
	}
	defer f.Close()
	// The opened file is checked again: a file swapped in since the
	// Stat is judged by the same rules.
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o006 != 0 {
		return nil, fail("changed while it was read", "Try again once it is in place")
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxPasswordFileSize+1))
	if err != nil {
		clear(data)
		return nil, fail(fmt.Sprintf("cannot be read (%v)", errors.Unwrap(err)), "Check the file")
	}
	if len(data) > MaxPasswordFileSize {
		clear(data)
		return nil, fail("grew while it was read", "Put the password alone in the file")
	}
	n := len(data)
	if n > 0 && data[n-1] == '\n' {
		n--
		if n > 0 && data[n-1] == '\r' {
			n--
		}
	}
	return data[:n], nil
}

// PasswordStamp identifies the content of a password file without reading
// it, by its path, size and modification time; "" for no file or one that
// cannot be checked.
// A store records it with a PFX so that a changed password file writes
// the PFX again.
func PasswordStamp(p string) string {
	if p == "" {
		return ""
	}
	fi, err := os.Stat(p)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%s|%d|%d", p, fi.Size(), fi.ModTime().UnixNano())
}
