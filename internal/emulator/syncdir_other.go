//go:build !linux

package emulator

// syncDir is a no-op where directories cannot be synced portably.
func syncDir(string) error { return nil }
