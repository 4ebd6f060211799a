//go:build !linux && !windows

package identity

// defaultArcKeyDir is empty: Azure Arc runs only on Linux and Windows, so
// a challenge is refused unless ArcKeyDir is set.
func defaultArcKeyDir() string { return "" }
