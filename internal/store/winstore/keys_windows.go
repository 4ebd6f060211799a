package winstore

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// keyInfo is where a certificate's private key lives (CRYPT_KEY_PROV_INFO).
type keyInfo struct {
	container string
	provider  string
	provType  uint32 // 0 for CNG
	flags     uint32
	keySpec   uint32
}

// keyProvInfo reads the key location of a certificate with a private key.
func keyProvInfo(ctx *windows.CertContext) (keyInfo, bool) {
	b, ok := getProperty(ctx, propKeyProvInfo)
	if !ok || uintptr(len(b)) < unsafe.Sizeof(cryptKeyProvInfo{}) {
		return keyInfo{}, false
	}
	p := (*cryptKeyProvInfo)(unsafe.Pointer(&b[0]))
	k := keyInfo{provType: p.ProvType, flags: p.Flags, keySpec: p.KeySpec}
	if p.ContainerName != nil {
		k.container = windows.UTF16PtrToString(p.ContainerName)
	}
	if p.ProvName != nil {
		k.provider = windows.UTF16PtrToString(p.ProvName)
	}
	return k, k.container != ""
}

// deleteKey removes a key container (CAPI or CNG).
func deleteKey(k keyInfo) error {
	container, err := windows.UTF16PtrFromString(k.container)
	if err != nil {
		return err
	}
	var provider *uint16
	if k.provider != "" {
		if provider, err = windows.UTF16PtrFromString(k.provider); err != nil {
			return err
		}
	}
	if k.provType != 0 {
		var h windows.Handle
		if err := windows.CryptAcquireContext(&h, container, provider, k.provType, windows.CRYPT_DELETEKEYSET|(k.flags&windows.CRYPT_MACHINE_KEYSET)); err != nil {
			return fmt.Errorf("delete key container: %w", err)
		}
		return nil
	}
	var prov, key uintptr
	if r, _, _ := procNCryptOpenStorageProvider.Call(uintptr(unsafe.Pointer(&prov)), uintptr(unsafe.Pointer(provider)), 0); r != 0 {
		return fmt.Errorf("open key storage provider %q: %w", k.provider, windows.Errno(r))
	}
	defer procNCryptFreeObject.Call(prov)
	if r, _, _ := procNCryptOpenKey.Call(prov, uintptr(unsafe.Pointer(&key)), uintptr(unsafe.Pointer(container)), uintptr(k.keySpec), uintptr(k.flags&ncryptMachineKeyFlag)); r != 0 {
		return fmt.Errorf("open key: %w", windows.Errno(r))
	}
	if r, _, _ := procNCryptDeleteKey.Call(key, 0); r != 0 {
		procNCryptFreeObject.Call(key)
		return fmt.Errorf("delete key: %w", windows.Errno(r))
	}
	return nil
}

// applyKeySecurity sets the DACL of the certificate's private key to sddl,
// through the key's security-descriptor property (CNG) or the key set's
// security descriptor (CAPI).
func applyKeySecurity(ctx *windows.CertContext, sddl string) error {
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		return fmt.Errorf("build the key's security descriptor: %w", err)
	}
	raw := unsafe.Slice((*byte)(unsafe.Pointer(sd)), sd.Length())
	var h windows.Handle
	var spec uint32
	var mustFree bool
	if err := windows.CryptAcquireCertificatePrivateKey(ctx, windows.CRYPT_ACQUIRE_ALLOW_NCRYPT_KEY_FLAG|windows.CRYPT_ACQUIRE_SILENT_FLAG, nil, &h, &spec, &mustFree); err != nil {
		return fmt.Errorf("open the private key: %w", err)
	}
	if spec == windows.CERT_NCRYPT_KEY_SPEC {
		if mustFree {
			defer procNCryptFreeObject.Call(uintptr(h))
		}
		name, _ := windows.UTF16PtrFromString(ncryptSecurityDescrProp)
		r, _, _ := procNCryptSetProperty.Call(uintptr(h), uintptr(unsafe.Pointer(name)), uintptr(unsafe.Pointer(&raw[0])), uintptr(len(raw)), daclSecurityInformation)
		if r != 0 {
			return fmt.Errorf("set the private key's permissions: %w", windows.Errno(r))
		}
		return nil
	}
	if mustFree {
		defer windows.CryptReleaseContext(h, 0)
	}
	if r, _, err := procCryptSetProvParam.Call(uintptr(h), ppKeysetSecDescr, uintptr(unsafe.Pointer(&raw[0])), daclSecurityInformation); r == 0 {
		return fmt.Errorf("set the private key's permissions: %w", err)
	}
	return nil
}

// lookupSID resolves an account name through the OS.
func lookupSID(account string) (string, error) {
	sid, _, _, err := windows.LookupSID("", account)
	if err != nil {
		return "", err
	}
	return sid.String(), nil
}

// currentUserSID is the SID of the user running this process.
func currentUserSID() (string, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", err
	}
	return u.User.Sid.String(), nil
}
