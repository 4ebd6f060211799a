package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/akvvm/akvvm/internal/transport"
)

// AdminClient calls a running emulator's admin API.
type AdminClient struct {
	base string
	http *http.Client
}

// NewAdminClient returns a client for the admin API at baseURL
// ("https://127.0.0.1:8443"), trusting the CA in caFile.
func NewAdminClient(baseURL, caFile string) (*AdminClient, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("admin URL %q: want https://HOST:PORT, as printed by 'akvvm emulator'", baseURL)
	}
	c, err := transport.NewClient(transport.Options{CAFile: caFile}, transport.ClientConfig{NoProxy: true, Timeout: 2 * time.Minute})
	if err != nil {
		return nil, fmt.Errorf("admin client: %w (pass the emulator's CA file with --ca-file)", err)
	}
	return &AdminClient{base: strings.TrimSuffix(u.String(), "/"), http: c}, nil
}

// AdminError is an error answer of the admin API.
type AdminError struct {
	Status  int
	Code    string
	Message string
}

// Error describes the answer without any secret material.
func (e *AdminError) Error() string {
	return fmt.Sprintf("emulator admin API: HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// Is makes errors.Is(err, ErrNotFound) true for a 404.
func (e *AdminError) Is(target error) bool {
	return target == ErrNotFound && e.Status == http.StatusNotFound
}

// do sends in as JSON (when not nil) and decodes the answer into out (when not nil).
func (c *AdminClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode admin request: %w", err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+adminPrefix+path, body)
	if err != nil {
		return fmt.Errorf("build admin request: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("call the emulator admin API at %s (is 'akvvm emulator' running there?): %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read admin answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		var eb kvErrorBody
		if json.Unmarshal(data, &eb) != nil || eb.Error.Code == "" {
			return &AdminError{Status: resp.StatusCode, Code: "Unknown", Message: truncate(string(data), 200)}
		}
		return &AdminError{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode admin answer: %w", err)
	}
	return nil
}

func esc(s string) string { return url.PathEscape(s) }

// Health checks that the emulator answers.
func (c *AdminClient) Health(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "health", nil, nil)
}

// CreateVault creates a vault (see Emulator.CreateVault).
func (c *AdminClient) CreateVault(ctx context.Context, spec VaultSpec) (VaultInfo, error) {
	var out VaultInfo
	return out, c.do(ctx, http.MethodPost, "vaults", spec, &out)
}

// Vaults lists the vaults.
func (c *AdminClient) Vaults(ctx context.Context) ([]VaultInfo, error) {
	var out []VaultInfo
	return out, c.do(ctx, http.MethodGet, "vaults", nil, &out)
}

// SetAccess replaces a vault's access list; nil opens it to every identity.
func (c *AdminClient) SetAccess(ctx context.Context, vault string, access map[string][]Permission) error {
	return c.do(ctx, http.MethodPut, "vaults/"+esc(vault)+"/access", AccessRequest{Access: access}, nil)
}

// AddIdentity adds a user-assigned identity.
func (c *AdminClient) AddIdentity(ctx context.Context, clientID string) error {
	return c.do(ctx, http.MethodPost, "identities", IdentityRequest{ClientID: clientID}, nil)
}

// Identities lists the identities' client ids.
func (c *AdminClient) Identities(ctx context.Context) ([]string, error) {
	var out []string
	return out, c.do(ctx, http.MethodGet, "identities", nil, &out)
}

// SetSecret stores a plain secret version.
func (c *AdminClient) SetSecret(ctx context.Context, vault, name string, spec SecretSpec) (SecretVersion, error) {
	var out SecretVersion
	return out, c.do(ctx, http.MethodPut, "vaults/"+esc(vault)+"/secrets/"+esc(name), spec, &out)
}

// FillSecrets adds many plain secrets to a vault at once (FillSpec).
func (c *AdminClient) FillSecrets(ctx context.Context, vault string, spec FillSpec) (Filled, error) {
	var out Filled
	return out, c.do(ctx, http.MethodPost, "vaults/"+esc(vault)+"/fill", spec, &out)
}

// GetSecret returns a secret version ("" = latest) with its value.
func (c *AdminClient) GetSecret(ctx context.Context, vault, name, version string) (SecretValue, error) {
	var out SecretValue
	return out, c.do(ctx, http.MethodGet, "vaults/"+esc(vault)+"/secrets/"+esc(name)+"/"+esc(version), nil, &out)
}

// SetSecretEnabled enables or disables a secret version ("" = latest).
func (c *AdminClient) SetSecretEnabled(ctx context.Context, vault, name, version string, enabled bool) error {
	return c.do(ctx, http.MethodPatch, "vaults/"+esc(vault)+"/secrets/"+esc(name)+"/"+esc(version), EnabledRequest{Enabled: enabled}, nil)
}

// DeleteSecretVersion makes the vault stop listing one version (see
// Emulator.DeleteSecretVersion); version must not be empty.
func (c *AdminClient) DeleteSecretVersion(ctx context.Context, vault, name, version string) error {
	if version == "" {
		return errors.New("delete secret version: the version is empty; use DeleteSecret to delete the whole secret")
	}
	return c.do(ctx, http.MethodDelete, "vaults/"+esc(vault)+"/secrets/"+esc(name)+"/"+esc(version), nil, nil)
}

// DeleteSecret deletes a secret with all its versions (see Emulator.DeleteSecret).
func (c *AdminClient) DeleteSecret(ctx context.Context, vault, name string) error {
	return c.do(ctx, http.MethodDelete, "vaults/"+esc(vault)+"/secrets/"+esc(name), nil, nil)
}

// CreateCertificate issues a certificate into a vault.
func (c *AdminClient) CreateCertificate(ctx context.Context, vault, name string, spec CertificateSpec) (SecretVersion, error) {
	var out SecretVersion
	return out, c.do(ctx, http.MethodPost, "vaults/"+esc(vault)+"/certificates/"+esc(name), spec, &out)
}

// RotateCertificate issues a new version of a created certificate.
func (c *AdminClient) RotateCertificate(ctx context.Context, vault, name string) (SecretVersion, error) {
	var out SecretVersion
	return out, c.do(ctx, http.MethodPost, "vaults/"+esc(vault)+"/certificates/"+esc(name)+"/rotate", struct{}{}, &out)
}

// ImportCertificate imports a PFX or PEM file as a new version.
func (c *AdminClient) ImportCertificate(ctx context.Context, vault, name string, spec ImportSpec) (SecretVersion, error) {
	var out SecretVersion
	return out, c.do(ctx, http.MethodPost, "vaults/"+esc(vault)+"/certificates/"+esc(name)+"/import", spec, &out)
}

// AddFault activates a fault and returns its id.
func (c *AdminClient) AddFault(ctx context.Context, f Fault) (string, error) {
	var out FaultAdded
	return out.ID, c.do(ctx, http.MethodPost, "faults", f, &out)
}

// Faults lists the active faults.
func (c *AdminClient) Faults(ctx context.Context) ([]Fault, error) {
	var out []Fault
	return out, c.do(ctx, http.MethodGet, "faults", nil, &out)
}

// RemoveFault deactivates one fault.
func (c *AdminClient) RemoveFault(ctx context.Context, id string) error {
	if id == "" {
		return errors.New("remove fault: the id is empty; use ClearFaults to remove all")
	}
	return c.do(ctx, http.MethodDelete, "faults/"+esc(id), nil, nil)
}

// ClearFaults deactivates every fault.
func (c *AdminClient) ClearFaults(ctx context.Context) error {
	return c.do(ctx, http.MethodDelete, "faults", nil, nil)
}

// Requests returns the request log.
func (c *AdminClient) Requests(ctx context.Context) ([]Request, error) {
	var out []Request
	return out, c.do(ctx, http.MethodGet, "requests", nil, &out)
}

// Counts returns the request counters.
func (c *AdminClient) Counts(ctx context.Context) ([]Counter, error) {
	var out []Counter
	return out, c.do(ctx, http.MethodGet, "counts", nil, &out)
}

// Connections returns the connection and TLS handshake counters.
func (c *AdminClient) Connections(ctx context.Context) (Connections, error) {
	var out Connections
	return out, c.do(ctx, http.MethodGet, "connections", nil, &out)
}

// ResetLog empties the request log and counters, connection counters included.
func (c *AdminClient) ResetLog(ctx context.Context) error {
	return c.do(ctx, http.MethodDelete, "requests", nil, nil)
}

// SetThrottle changes the per-vault limit per 10 s (negative disables it).
func (c *AdminClient) SetThrottle(ctx context.Context, limit int, sliding bool) error {
	return c.do(ctx, http.MethodPut, "throttle", ThrottleRequest{Limit: limit, Sliding: sliding}, nil)
}
