package handler

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/akvvm/akvvm/internal/config"
	"github.com/akvvm/akvvm/internal/fsutil"
)

// ServiceConfig is what enable hands to the service.
type ServiceConfig struct {
	// Seq is the sequence number whose status file the service writes.
	Seq int `json:"sequenceNumber"`
	// Platform and SchemaVersion name the settings schema.
	Platform      string `json:"platform"`
	SchemaVersion string `json:"schemaVersion"`
	// Settings is the content of the <seq>.settings file.
	Settings json.RawMessage `json:"settings"`
}

// Schema returns the settings schema of c.
func (c ServiceConfig) Schema() config.Schema {
	return config.Schema{Platform: config.Platform(c.Platform), Version: c.SchemaVersion}
}

const (
	serviceConfigFile = "service.json"
	stoppedMarker     = "stopped"
	// AgentStatusFile is the agent's own status file in the state directory.
	AgentStatusFile = "status.json"
)

// WriteServiceConfig stores c in the state directory.
func WriteServiceConfig(stateDir string, c ServiceConfig) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the service settings: %w", err)
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return fmt.Errorf("create the state directory: %w", err)
	}
	return fsutil.WriteFileAtomic(filepath.Join(stateDir, serviceConfigFile), append(data, '\n'), 0o600)
}

// ServiceConfigPath is where enable stores the service's settings.
func ServiceConfigPath(stateDir string) string { return filepath.Join(stateDir, serviceConfigFile) }

// ReadServiceConfig reads what enable stored for the service; without
// one the error matches fs.ErrNotExist. A link there is refused, not
// followed.
func ReadServiceConfig(stateDir string) (ServiceConfig, error) {
	var c ServiceConfig
	data, err := fsutil.ReadFile(filepath.Join(stateDir, serviceConfigFile), fsutil.MaxReadSize)
	if errors.Is(err, fs.ErrNotExist) {
		return c, fmt.Errorf("read the service settings: %w (run akvvm handler enable first)", err)
	}
	if err != nil {
		return c, fmt.Errorf("read the service settings: %w", err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("service settings %s are damaged: %w; run akvvm handler enable again", filepath.Join(stateDir, serviceConfigFile), err)
	}
	return c, nil
}

// setStopped records whether the service is meant to be stopped.
func setStopped(stateDir string, stopped bool) error {
	p := filepath.Join(stateDir, stoppedMarker)
	if !stopped {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("clear the stopped marker: %w", err)
		}
		return nil
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return fmt.Errorf("create the state directory: %w", err)
	}
	return fsutil.WriteFileAtomic(p, []byte("1"), 0o600)
}

// StoppedMarkerPath is the marker that keeps the service from running.
func StoppedMarkerPath(stateDir string) string { return filepath.Join(stateDir, stoppedMarker) }

// IsStopped reports whether the service is meant to be stopped: disable,
// and install until the first enable, leave the marker state/stopped.
// Any entry there counts, a link too; it is never followed.
func IsStopped(stateDir string) bool { return isStopped(stateDir) }

func isStopped(stateDir string) bool {
	_, err := os.Lstat(filepath.Join(stateDir, stoppedMarker))
	return err == nil
}
