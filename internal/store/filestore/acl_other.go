//go:build !linux

package filestore

import (
	"context"
	"fmt"
	"runtime"
)

// execSetfacl reports that POSIX ACLs are Linux-only.
type execSetfacl struct{}

func (execSetfacl) Setfacl(context.Context, ...string) error {
	return fmt.Errorf("POSIX ACLs are not supported on %s: remove acls from the settings (on Windows use accounts)", runtime.GOOS)
}
