package handler

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/akvvm/akvvm/internal/config"
)

// VersionEnv is the environment variable holding the extension's version.
const VersionEnv = "AZURE_GUEST_AGENT_EXTENSION_VERSION"

var versionPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*$`)

// ExtensionVersion returns the extension's version: envValue when set, else
// taken from the handler directory's name, "<Name>-<version>" on Linux and
// "<version>" on Windows.
func ExtensionVersion(envValue, handlerDir string) (string, error) {
	if v := strings.TrimSpace(envValue); v != "" {
		if !versionPattern.MatchString(v) {
			return "", fmt.Errorf("%s=%q is not a version such as 3.0.1", VersionEnv, v)
		}
		return v, nil
	}
	base := filepath.Base(handlerDir)
	if i := strings.LastIndex(base, "-"); i >= 0 {
		base = base[i+1:]
	}
	if !versionPattern.MatchString(base) {
		return "", fmt.Errorf("cannot tell the extension version: %s is not set and the handler directory %q does not end in a version", VersionEnv, handlerDir)
	}
	return base, nil
}

// SchemaFor maps the extension version to the settings schema of platform
// ("windows" or "linux"): the major version picks the schema.
func SchemaFor(platform, version string) (config.Schema, error) {
	major, _, _ := strings.Cut(version, ".")
	s, err := config.ParseSchema(platform, major+".0")
	if err != nil {
		return config.Schema{}, fmt.Errorf("extension version %s: %w", version, err)
	}
	return s, nil
}
