// Package packaging holds the files that go into the extension packages:
// the handler manifests and the systemd unit. They are embedded so the
// binary can lay the unit down and tests can check what ships.
package packaging

import (
	"embed"
	"fmt"
)

//go:embed linux/HandlerManifest.json windows/HandlerManifest.json linux/akvvm_service.service
var files embed.FS

// SystemdUnit returns the unit file template of akvvm_service.service.
func SystemdUnit() string { return mustRead("linux/akvvm_service.service") }

// Manifest returns the HandlerManifest.json of goos ("linux" or "windows").
func Manifest(goos string) ([]byte, error) {
	data, err := files.ReadFile(goos + "/HandlerManifest.json")
	if err != nil {
		return nil, fmt.Errorf("no handler manifest for %s: packages exist for linux and windows", goos)
	}
	return data, nil
}

func mustRead(name string) string {
	data, err := files.ReadFile(name)
	if err != nil {
		panic("packaging: embedded file missing: " + name)
	}
	return string(data)
}
