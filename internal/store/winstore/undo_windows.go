package winstore

import (
	"bytes"
	"errors"
	"unsafe"

	"golang.org/x/sys/windows"
)

// undo collects the steps that reverse a change, run last first.
type undo []func() error

func (u *undo) push(f func() error) { *u = append(*u, f) }

// run reverses every change pushed so far and returns every failure.
func (u undo) run() error {
	var errs []error
	for i := len(u) - 1; i >= 0; i-- {
		if err := u[i](); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// saveProperty returns a step that puts a property back as it is now: the
// same bytes, or not set at all.
func saveProperty(ctx *windows.CertContext, id uint32) func() error {
	old, ok := getProperty(ctx, id)
	old = bytes.Clone(old)
	return func() error {
		if !ok {
			return deleteProperty(ctx, id)
		}
		return setBlobProperty(ctx, id, old)
	}
}

// deleteProperty removes a property (a NULL value deletes it).
func deleteProperty(ctx *windows.CertContext, id uint32) error {
	return setProperty(ctx, id, unsafe.Pointer(nil))
}
