//go:build windows

package main

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

var (
	crypt32                = windows.NewLazySystemDLL("crypt32.dll")
	procGetContextProperty = crypt32.NewProc("CertGetCertificateContextProperty")
	procSetContextProperty = crypt32.NewProc("CertSetCertificateContextProperty")
	procControlStore       = crypt32.NewProc("CertControlStore")
)

// Property ids and store controls from wincrypt.h.
const (
	propKeyProvInfo  = 2
	propFriendlyName = 11
	propDescription  = 13
	propRenewal      = 64

	ctrlCommit    = 3
	ctrlForceFlag = 1
)

// open opens a system store such as MY at LocalMachine or CurrentUser.
func open(location, name string) (windows.Handle, error) {
	flags := uint32(windows.CERT_SYSTEM_STORE_CURRENT_USER)
	if location == "LocalMachine" {
		flags = windows.CERT_SYSTEM_STORE_LOCAL_MACHINE
	}
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return 0, err
	}
	h, err := windows.CertOpenStore(windows.CERT_STORE_PROV_SYSTEM_W, 0, 0, flags, uintptr(unsafe.Pointer(n)))
	runtime.KeepAlive(n)
	if err != nil {
		return 0, fmt.Errorf("open %s\\%s: %w", location, name, err)
	}
	return h, nil
}

// closeStore saves a changed store (Wine loses changes without the commit)
// and closes it.
func closeStore(h windows.Handle, changed bool) error {
	var err error
	if changed {
		if r, _, cerr := procControlStore.Call(uintptr(h), ctrlForceFlag, ctrlCommit, 0); r == 0 {
			err = fmt.Errorf("commit store: %w", cerr)
		}
	}
	if cerr := windows.CertCloseStore(h, 0); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

// contexts returns a duplicate of every certificate in the store; the caller
// frees or deletes each.
func contexts(h windows.Handle) []*windows.CertContext {
	var out []*windows.CertContext
	var ctx *windows.CertContext
	for {
		next, err := windows.CertEnumCertificatesInStore(h, ctx)
		if err != nil || next == nil {
			return out
		}
		ctx = next
		out = append(out, windows.CertDuplicateCertificateContext(ctx))
	}
}

func der(ctx *windows.CertContext) []byte {
	return bytes.Clone(unsafe.Slice(ctx.EncodedCert, ctx.Length))
}

func thumbprint(der []byte) string {
	sum := sha1.Sum(der)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// list reports every certificate in one store.
func list(location, name string) ([]Cert, error) {
	h, err := open(location, name)
	if err != nil {
		return nil, err
	}
	out := []Cert{}
	for _, ctx := range contexts(h) {
		raw := der(ctx)
		c := Cert{Thumbprint: thumbprint(raw), DER: raw}
		c.FriendlyName = utf16(property(ctx, propFriendlyName))
		c.Description = utf16(property(ctx, propDescription))
		if r := property(ctx, propRenewal); len(r) > 0 {
			c.Renewal = strings.ToUpper(hex.EncodeToString(r))
		}
		c.HasKey = len(property(ctx, propKeyProvInfo)) > 0
		windows.CertFreeCertificateContext(ctx)
		out = append(out, c)
	}
	return out, closeStore(h, false)
}

// add puts a certificate without key into a store with a friendly name and
// a description.
func add(location, name string, raw []byte, friendly, desc string) error {
	h, err := open(location, name)
	if err != nil {
		return err
	}
	ctx, err := windows.CertCreateCertificateContext(windows.X509_ASN_ENCODING|windows.PKCS_7_ASN_ENCODING, &raw[0], uint32(len(raw)))
	if err != nil {
		closeStore(h, false)
		return fmt.Errorf("read certificate: %w", err)
	}
	var added *windows.CertContext
	err = windows.CertAddCertificateContextToStore(h, ctx, windows.CERT_STORE_ADD_REPLACE_EXISTING, &added)
	windows.CertFreeCertificateContext(ctx)
	if err != nil {
		closeStore(h, false)
		return fmt.Errorf("add to %s\\%s: %w", location, name, err)
	}
	// Properties are set on the stored copy (see docs/windows.md: Wine).
	err = setString(added, propFriendlyName, friendly)
	if err == nil {
		err = setString(added, propDescription, desc)
	}
	windows.CertFreeCertificateContext(added)
	if cerr := closeStore(h, true); err == nil {
		err = cerr
	}
	return err
}

// remove deletes the certificates whose thumbprints are in want.
func remove(location, name string, want map[string]bool) error {
	h, err := open(location, name)
	if err != nil {
		return err
	}
	changed := false
	var errs []error
	for _, ctx := range contexts(h) {
		if !want[thumbprint(der(ctx))] {
			windows.CertFreeCertificateContext(ctx)
			continue
		}
		if err := windows.CertDeleteCertificateFromStore(ctx); err != nil {
			errs = append(errs, err)
			continue
		}
		changed = true
	}
	if err := closeStore(h, changed); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("remove from %s\\%s: %v", location, name, errs)
	}
	return nil
}

// property returns a property's bytes, or nil when it is not set.
func property(ctx *windows.CertContext, id uint32) []byte {
	var n uint32
	r, _, _ := procGetContextProperty.Call(uintptr(unsafe.Pointer(ctx)), uintptr(id), 0, uintptr(unsafe.Pointer(&n)))
	if r == 0 || n == 0 {
		return nil
	}
	buf := make([]byte, n)
	r, _, _ = procGetContextProperty.Call(uintptr(unsafe.Pointer(ctx)), uintptr(id), uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)))
	if r == 0 {
		return nil
	}
	return buf[:n]
}

func setString(ctx *windows.CertContext, id uint32, s string) error {
	u, err := windows.UTF16FromString(s)
	if err != nil {
		return err
	}
	blob := windows.CryptDataBlob{Size: uint32(len(u) * 2), Data: (*byte)(unsafe.Pointer(&u[0]))}
	if r, _, err := procSetContextProperty.Call(uintptr(unsafe.Pointer(ctx)), uintptr(id), 0, uintptr(unsafe.Pointer(&blob))); r == 0 {
		return fmt.Errorf("set property %d: %w", id, err)
	}
	runtime.KeepAlive(u)
	return nil
}

// utf16 decodes a UTF-16 string property.
func utf16(b []byte) string {
	if len(b) < 2 {
		return ""
	}
	return windows.UTF16ToString(unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), len(b)/2))
}
