package identity

import (
	"os"
	"path/filepath"
)

// defaultArcKeyDir is where the Azure Arc agent writes challenge key files.
func defaultArcKeyDir() string {
	base := os.Getenv("ProgramData")
	if base == "" {
		base = `C:\ProgramData`
	}
	return filepath.Join(base, "AzureConnectedMachineAgent", "Tokens")
}
