package store

import (
	"fmt"
	"path"
	"strings"
)

// The rules in this file are the only ones: validate reports what they
// refuse, and the stores refuse the same values at install with the same
// text, so settings that validate also install.

// ReservedPrefix begins the name of every file akvvm keeps in a store
// directory (its records, locks and temporary files); no link may start
// with it.
const ReservedPrefix = ".akvvm"

// MaxLinkNameLen is the longest link name in bytes: Linux's NAME_MAX.
const MaxLinkNameLen = 255

// ExampleDirectory is the directory the hints suggest: KeyVaultForLinux's
// default store.
const ExampleDirectory = "/var/lib/waagent/Microsoft.Azure.KeyVault.Store"

// kernelDirs are file systems of the kernel; a store under one of them
// would write certificates into kernel interfaces.
var kernelDirs = []string{"/proc", "/sys", "/dev"}

// NameError is a link name, store directory or store name the rules refuse.
type NameError struct {
	// Field is the settings field the value belongs to, such as
	// customSymbolicLinkName.
	Field string
	// Value is the refused value.
	Value string
	// Reason says what is wrong with Value, such as "contains U+000A (LINE FEED), a control character".
	Reason string
	// Hint says what to do, without a final period.
	Hint string
}

// Message is the quoted value and what is wrong with it, as validate
// reports it under the field's path.
func (e *NameError) Message() string { return fmt.Sprintf("%q %s", e.Value, e.Reason) }

// Error names the field, the value, the reason and the hint.
func (e *NameError) Error() string { return e.Field + " " + e.Message() + ": " + e.Hint }

// CheckLinkName accepts a Linux link name (customSymbolicLinkName): a plain
// file name of at most 255 bytes of valid UTF-8, without / or \, control
// or bidirectional control characters, that is neither . nor .. and does
// not start with ReservedPrefix. It returns a *NameError.
func CheckLinkName(name string) error {
	const hint = "Give a plain file name such as app1Cert1; the link is created inside certificateStoreLocation"
	fail := func(reason, hint string) error {
		return &NameError{Field: "customSymbolicLinkName", Value: name, Reason: reason, Hint: hint}
	}
	if name == "" {
		return fail("is empty", "Remove customSymbolicLinkName to use <vault>.<certificate name>, or give a plain file name such as app1Cert1")
	}
	if reason := textProblem(name); reason != "" {
		return fail(reason, "Write the name in printable UTF-8 characters only, such as app1Cert1, so that it reads as what it is")
	}
	switch {
	case name == "." || name == "..":
		return fail("is not a plain file name: it names a directory", hint)
	case strings.ContainsAny(name, `/\`):
		sep := "/"
		if !strings.Contains(name, "/") {
			sep = `\`
		}
		return fail("is not a plain file name: it contains "+sep, hint)
	case len(name) > MaxLinkNameLen:
		return fail(fmt.Sprintf("is %d bytes long, more than the %d a file name may have", len(name), MaxLinkNameLen), "Choose a shorter name")
	case strings.HasPrefix(name, ReservedPrefix):
		return fail(fmt.Sprintf("starts with %q, which akvvm reserves for its own files in the store directory", ReservedPrefix),
			"Choose a name that does not start with "+ReservedPrefix)
	}
	return nil
}

// CheckDirectory accepts a Linux store directory (certificateStoreLocation):
// an absolute path of valid UTF-8 without control or bidirectional control
// characters that, once cleaned (path.Clean), is neither / nor /proc,
// /sys, /dev or a directory under them. Callers install into the cleaned
// path. It returns a *NameError.
func CheckDirectory(dir string) error {
	fail := func(reason, hint string) error {
		return &NameError{Field: "certificateStoreLocation", Value: dir, Reason: reason, Hint: hint}
	}
	ownDir := "Use a directory of its own, such as " + ExampleDirectory
	if dir == "" {
		return fail("is empty", "Remove it to use "+ExampleDirectory+", or give an absolute directory")
	}
	if reason := textProblem(dir); reason != "" {
		return fail(reason, "Write the directory in printable UTF-8 characters only, such as "+ExampleDirectory)
	}
	if !strings.HasPrefix(dir, "/") {
		return fail("is relative, not an absolute directory", "Write a path that starts with /, such as "+ExampleDirectory)
	}
	clean := path.Clean(dir)
	if clean == "/" {
		return fail("is the root directory", ownDir)
	}
	for _, k := range kernelDirs {
		if clean == k || strings.HasPrefix(clean, k+"/") {
			return fail(fmt.Sprintf("is in %s, a file system of the kernel, not a directory for files", k), ownDir)
		}
	}
	return nil
}

// CheckStoreName accepts a Windows store name (certificateStoreName): not
// blank, valid UTF-8 without control or bidirectional control characters,
// and without \ (the location is certificateStoreLocation). It returns a
// *NameError.
func CheckStoreName(name string) error {
	fail := func(reason, hint string) error {
		return &NameError{Field: "certificateStoreName", Value: name, Reason: reason, Hint: hint}
	}
	if strings.TrimSpace(name) == "" {
		return fail("is empty", `Remove it to use MY (Personal), or write a store name such as "MY" or "TrustedPeople"`)
	}
	if reason := textProblem(name); reason != "" {
		return fail(reason, "Write the store's system name in printable characters only, such as MY or TrustedPeople")
	}
	if strings.Contains(name, `\`) {
		return fail(`is not a store name: it contains \`, "Write the store name alone (such as MY) and the location in certificateStoreLocation")
	}
	return nil
}
