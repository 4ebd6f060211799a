package winstore

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

// Procedures golang.org/x/sys/windows does not wrap.
var (
	modcrypt32 = windows.NewLazySystemDLL("crypt32.dll")
	modncrypt  = windows.NewLazySystemDLL("ncrypt.dll")
	modadvapi  = windows.NewLazySystemDLL("advapi32.dll")

	procCertSetCertificateContextProperty = modcrypt32.NewProc("CertSetCertificateContextProperty")
	procCertGetCertificateContextProperty = modcrypt32.NewProc("CertGetCertificateContextProperty")
	procCertControlStore                  = modcrypt32.NewProc("CertControlStore")
	procNCryptOpenStorageProvider         = modncrypt.NewProc("NCryptOpenStorageProvider")
	procNCryptOpenKey                     = modncrypt.NewProc("NCryptOpenKey")
	procNCryptDeleteKey                   = modncrypt.NewProc("NCryptDeleteKey")
	procNCryptFreeObject                  = modncrypt.NewProc("NCryptFreeObject")
	procNCryptSetProperty                 = modncrypt.NewProc("NCryptSetProperty")
	procCryptSetProvParam                 = modadvapi.NewProc("CryptSetProvParam")
)

// Certificate property ids and store controls (wincrypt.h).
const (
	propKeyProvInfo  = 2
	propFriendlyName = 11
	propDescription  = 13
	propRenewal      = 64

	storeCtrlCommit          = 3
	storeCtrlCommitForceFlag = 1

	ppKeysetSecDescr        = 8
	daclSecurityInformation = 4
	ncryptMachineKeyFlag    = 0x20
	ncryptSecurityDescrProp = "Security Descr"
)

// cryptKeyProvInfo is CRYPT_KEY_PROV_INFO.
type cryptKeyProvInfo struct {
	ContainerName *uint16
	ProvName      *uint16
	ProvType      uint32
	Flags         uint32
	ProvParamLen  uint32
	ProvParam     uintptr
	KeySpec       uint32
}

func setProperty(ctx *windows.CertContext, id uint32, data unsafe.Pointer) error {
	r, _, err := procCertSetCertificateContextProperty.Call(uintptr(unsafe.Pointer(ctx)), uintptr(id), 0, uintptr(data))
	if r == 0 {
		return err
	}
	return nil
}

// setBlobProperty sets a property whose value is a CRYPT_DATA_BLOB.
func setBlobProperty(ctx *windows.CertContext, id uint32, data []byte) error {
	blob := windows.CryptDataBlob{Size: uint32(len(data))}
	if len(data) > 0 {
		blob.Data = &data[0]
	}
	return setProperty(ctx, id, unsafe.Pointer(&blob))
}

// setStringProperty sets a property whose value is a UTF-16 string blob.
func setStringProperty(ctx *windows.CertContext, id uint32, s string) error {
	u, err := windows.UTF16FromString(s)
	if err != nil {
		return err
	}
	return setBlobProperty(ctx, id, unsafe.Slice((*byte)(unsafe.Pointer(&u[0])), len(u)*2))
}

// getProperty returns a property's raw bytes; ok is false when it is not set.
func getProperty(ctx *windows.CertContext, id uint32) (data []byte, ok bool) {
	var n uint32
	r, _, _ := procCertGetCertificateContextProperty.Call(uintptr(unsafe.Pointer(ctx)), uintptr(id), 0, uintptr(unsafe.Pointer(&n)))
	if r == 0 || n == 0 {
		return nil, false
	}
	buf := make([]byte, n)
	r, _, _ = procCertGetCertificateContextProperty.Call(uintptr(unsafe.Pointer(ctx)), uintptr(id), uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)))
	if r == 0 {
		return nil, false
	}
	return buf[:n], true
}

// getStringProperty reads a UTF-16 string property.
func getStringProperty(ctx *windows.CertContext, id uint32) (string, bool) {
	b, ok := getProperty(ctx, id)
	if !ok || len(b) < 2 {
		return "", false
	}
	u := unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), len(b)/2)
	return windows.UTF16ToString(u), true
}

// commitStore flushes a registry-backed store; Wine loses changes without it.
func commitStore(h windows.Handle) error {
	r, _, err := procCertControlStore.Call(uintptr(h), storeCtrlCommitForceFlag, storeCtrlCommit, 0)
	if r == 0 {
		return err
	}
	return nil
}
