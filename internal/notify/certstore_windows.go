package notify

import (
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/windows"
)

// readStoreCert reads the certificate with the SHA-1 thumbprint from the
// system store storeName at location (LocalMachine or CurrentUser).
func readStoreCert(location, storeName, thumbprint string) (*x509.Certificate, error) {
	var flags uint32
	switch location {
	case "LocalMachine":
		flags = windows.CERT_SYSTEM_STORE_LOCAL_MACHINE
	case "CurrentUser":
		flags = windows.CERT_SYSTEM_STORE_CURRENT_USER
	default:
		return nil, fmt.Errorf("store location %q: want LocalMachine or CurrentUser", location)
	}
	hash, err := hex.DecodeString(thumbprint)
	if err != nil || len(hash) != 20 {
		return nil, fmt.Errorf("thumbprint %q is not a SHA-1 in hex", thumbprint)
	}
	name, err := windows.UTF16PtrFromString(storeName)
	if err != nil {
		return nil, err
	}
	st, err := windows.CertOpenStore(windows.CERT_STORE_PROV_SYSTEM_W, 0, 0,
		flags|windows.CERT_STORE_READONLY_FLAG|windows.CERT_STORE_OPEN_EXISTING_FLAG, uintptr(unsafe.Pointer(name)))
	// The name is passed as a uintptr: keep it alive until the call is done.
	runtime.KeepAlive(name)
	if err != nil {
		return nil, fmt.Errorf("open %s\\%s: %w", location, storeName, err)
	}
	defer windows.CertCloseStore(st, 0)
	blob := windows.CryptHashBlob{Size: uint32(len(hash)), Data: &hash[0]}
	ctx, err := windows.CertFindCertificateInStore(st, windows.X509_ASN_ENCODING|windows.PKCS_7_ASN_ENCODING, 0,
		windows.CERT_FIND_SHA1_HASH, unsafe.Pointer(&blob), nil)
	if err != nil {
		return nil, fmt.Errorf("find %s in %s\\%s: %w", thumbprint, location, storeName, err)
	}
	defer windows.CertFreeCertificateContext(ctx)
	der := append([]byte(nil), unsafe.Slice(ctx.EncodedCert, ctx.Length)...) // the context is freed below
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse %s from %s\\%s: %w", thumbprint, location, storeName, err)
	}
	return c, nil
}
