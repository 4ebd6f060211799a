package identity

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

const (
	// DefaultEndpoint is the IMDS token URL every Azure VM serves.
	DefaultEndpoint = "http://169.254.169.254/metadata/identity/oauth2/token"

	// imdsAPIVersion is the IMDS api-version; the oldest that returns
	// expires_in and accepts client_id.
	imdsAPIVersion = "2018-02-01"
	// arcAPIVersion is the api-version Azure Arc's agent (himds) requires.
	arcAPIVersion = "2020-06-01"
	// arcPort is the port Azure Arc's agent listens on (localhost:40342).
	arcPort = "40342"

	identityPath = "/metadata/identity"
	tokenPath    = identityPath + "/oauth2/token"
)

// parseEndpoint validates a token endpoint and returns its token URL.
//
// The settings show two forms: ".../metadata/identity" (Linux docs, Arc) and
// ".../metadata/identity/oauth2/token" (Windows docs). The first gets
// /oauth2/token appended, as does an empty path; any other path is used as
// given, so emulators may serve the token anywhere.
func parseEndpoint(raw string) (*url.URL, error) {
	if raw == "" {
		raw = DefaultEndpoint
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("msiEndpoint %q is not a URL (want e.g. %s): %w", raw, DefaultEndpoint, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("msiEndpoint %q must be an http or https URL, such as %s", raw, DefaultEndpoint)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("msiEndpoint %q has no host; want e.g. %s", raw, DefaultEndpoint)
	case u.User != nil:
		return nil, errors.New("msiEndpoint must not carry a user name or password; remove the user info from the URL")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, fmt.Errorf("msiEndpoint %q must not have a #fragment", raw)
	}
	switch p := strings.TrimSuffix(u.Path, "/"); {
	case p == "" || p == identityPath:
		u.Path = tokenPath
		u.RawPath = ""
	}
	return u, nil
}

// isArcEndpoint reports whether u is Azure Arc's agent, known by its port.
func isArcEndpoint(u *url.URL) bool { return u.Port() == arcPort }

// resourceFromScopes turns the one scope azcore passes, such as
// "https://vault.azure.net/.default", into the IMDS resource.
func resourceFromScopes(scopes []string) (string, error) {
	if len(scopes) != 1 {
		return "", fmt.Errorf("managed identity tokens are for exactly one scope, got %d; pass one scope such as https://vault.azure.net/.default", len(scopes))
	}
	r := strings.TrimSuffix(strings.TrimSpace(scopes[0]), "/.default")
	if r == "" {
		return "", fmt.Errorf("scope %q names no resource; pass one such as https://vault.azure.net/.default", scopes[0])
	}
	return r, nil
}
