//go:build !linux

package pki

// syncDir does nothing: directories cannot be synced portably outside Linux
// (Windows makes renames durable through the file system journal).
func syncDir(string) error { return nil }
