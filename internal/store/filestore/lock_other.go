//go:build !linux

package filestore

import "context"

// The locks are no-ops outside Linux: the directory store is meant for
// Linux, and there the store directory is guarded by flock. Within one
// process the Store's per-certificate mutexes still serialise operations.

func lockDir(context.Context, string) (func(), error)          { return func() {}, nil }
func lockDirShared(context.Context, string) (func(), error)    { return func() {}, nil }
func lockCert(context.Context, string, string) (func(), error) { return func() {}, nil }
