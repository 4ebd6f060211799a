// Package wine tells whether the process runs under Wine, so Windows tests
// can skip, by name, what Wine does not implement (see docs/windows.md).
package wine
