package handler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// EnvironmentFile is the name of the file the guest agent writes into the
// handler directory.
const EnvironmentFile = "HandlerEnvironment.json"

// Environment is the content of HandlerEnvironment.json plus where it was found.
type Environment struct {
	// Name is the extension's full name, such as
	// Microsoft.Azure.KeyVault.KeyVaultForLinux.
	Name string
	// Version is the file's schema version, as written (number or string).
	Version string
	// Dir is the handler directory: the directory holding the file.
	Dir           string
	LogFolder     string
	ConfigFolder  string
	StatusFolder  string
	HeartbeatFile string
	EventsFolder  string
}

// StateDir is where the handler keeps what it hands to the service.
func (e *Environment) StateDir() string { return filepath.Join(e.Dir, "state") }

// envFile is the JSON form. Windows writes version as a string, Linux as a
// number; json.RawMessage accepts both.
type envFile struct {
	Name               string          `json:"name"`
	Version            json.RawMessage `json:"version"`
	HandlerEnvironment struct {
		LogFolder     string `json:"logFolder"`
		ConfigFolder  string `json:"configFolder"`
		StatusFolder  string `json:"statusFolder"`
		HeartbeatFile string `json:"heartbeatFile"`
		EventsFolder  string `json:"eventsFolder"`
	} `json:"handlerEnvironment"`
}

// ParseEnvironment parses the content of HandlerEnvironment.json found in dir.
func ParseEnvironment(data []byte, dir string) (*Environment, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var list []envFile
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("%s is not a JSON array of handler environments: %w", EnvironmentFile, err)
	}
	if len(list) != 1 {
		return nil, fmt.Errorf("%s holds %d entries, want exactly 1: the guest agent writes one", EnvironmentFile, len(list))
	}
	f := list[0]
	h := f.HandlerEnvironment
	e := &Environment{
		Name: f.Name, Version: lenientVersion(f.Version), Dir: dir,
		LogFolder: h.LogFolder, ConfigFolder: h.ConfigFolder, StatusFolder: h.StatusFolder,
		HeartbeatFile: h.HeartbeatFile, EventsFolder: h.EventsFolder,
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"configFolder", e.ConfigFolder}, {"statusFolder", e.StatusFolder}, {"logFolder", e.LogFolder}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s lacks handlerEnvironment fields %v: reinstall the extension so the guest agent writes it again", EnvironmentFile, missing)
	}
	return e, nil
}

// lenientVersion renders a version given as a number or a string.
func lenientVersion(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		if f, err := strconv.ParseFloat(n.String(), 64); err == nil {
			return strconv.FormatFloat(f, 'f', 1, 64)
		}
	}
	return string(raw)
}

// FindEnvironment reads HandlerEnvironment.json next to the executable exe
// or one directory up (packages keep the binary in bin/).
func FindEnvironment(exe string) (*Environment, error) {
	dir := filepath.Dir(exe)
	var tried []string
	for _, d := range []string{dir, filepath.Dir(dir)} {
		p := filepath.Join(d, EnvironmentFile)
		tried = append(tried, p)
		data, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		return ParseEnvironment(data, d)
	}
	return nil, fmt.Errorf("%s not found (looked at %v): akvvm handler commands run only from an extension package the guest agent installed", EnvironmentFile, tried)
}
