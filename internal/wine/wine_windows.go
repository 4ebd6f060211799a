package wine

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

// Version returns the Wine version from ntdll!wine_get_version, or "" on
// real Windows.
func Version() string {
	proc := windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version")
	if proc.Find() != nil {
		return ""
	}
	r, _, _ := proc.Call()
	if r == 0 {
		return "unknown"
	}
	// r points into ntdll's static data, which never moves.
	return windows.BytePtrToString(*(**byte)(unsafe.Pointer(&r)))
}
