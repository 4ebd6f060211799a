//go:build !windows

package wine

// Version returns "": Wine runs only Windows programs.
func Version() string { return "" }
