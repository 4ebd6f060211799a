// Package config reads the public settings of the Key Vault VM extension in
// every documented schema (KeyVaultForWindows 1.0, 3.0 and 4.0;
// KeyVaultForLinux 2.0 and 3.0), checks them, and normalises them into one
// model the agent uses. Every problem is reported with its JSON path, what
// is wrong and how to fix it.
package config

import (
	"fmt"
	"time"

	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/store"
)

// Platform is the operating system a schema belongs to.
type Platform string

// The platforms akvvm supports.
const (
	Windows Platform = "windows"
	Linux   Platform = "linux"
)

// Schema names one settings schema: a platform and an extension version.
type Schema struct {
	Platform Platform
	Version  string
}

// String returns the extension name and version, such as "KeyVaultForWindows 4.0".
func (s Schema) String() string {
	if s.Platform == Linux {
		return "KeyVaultForLinux " + s.Version
	}
	return "KeyVaultForWindows " + s.Version
}

// Schemas lists every schema akvvm understands.
func Schemas() []Schema {
	return []Schema{
		{Windows, "1.0"}, {Windows, "3.0"}, {Windows, "4.0"},
		{Linux, "2.0"}, {Linux, "3.0"},
	}
}

// DefaultSchema returns the newest schema of a platform: Windows 4.0, Linux 3.0.
func DefaultSchema(p Platform) Schema {
	if p == Linux {
		return Schema{Linux, "3.0"}
	}
	return Schema{Windows, "4.0"}
}

// ParseSchema checks a platform ("windows" or "linux") and a version and
// returns the schema; an empty version means the platform's newest.
func ParseSchema(platform, version string) (Schema, error) {
	p := Platform(platform)
	if p != Windows && p != Linux {
		return Schema{}, fmt.Errorf("platform %q is not known: use windows or linux", platform)
	}
	if version == "" {
		return DefaultSchema(p), nil
	}
	s := Schema{p, version}
	if !s.valid() {
		return Schema{}, fmt.Errorf("%s is not a schema akvvm knows: %s takes %s", s, p, versionsOf(p))
	}
	return s, nil
}

func (s Schema) valid() bool {
	for _, k := range Schemas() {
		if k == s {
			return true
		}
	}
	return false
}

func versionsOf(p Platform) string {
	if p == Linux {
		return "2.0 or 3.0"
	}
	return "1.0, 3.0 or 4.0"
}

// Defaults that the documents give.
const (
	// DefaultPollingInterval is the documented default of pollingIntervalInS.
	DefaultPollingInterval = time.Hour
	// DefaultStoreName is the Windows store used when none is given.
	DefaultStoreName = "MY"
	// DefaultStoreLocation is the Windows store location used when none is given.
	DefaultStoreLocation = "LocalMachine"
	// DefaultLinuxStore is the KeyVaultForLinux store directory used when none is given.
	DefaultLinuxStore = "/var/lib/waagent/Microsoft.Azure.KeyVault.Store"
	// DefaultIMDSEndpoint is the Azure instance metadata token endpoint.
	DefaultIMDSEndpoint = "http://169.254.169.254/metadata/identity/oauth2/token"
	// DefaultReloadTimeout bounds a reloadCommand when reloadTimeoutInS is not given.
	DefaultReloadTimeout = 30 * time.Second
	// InitialSyncAttempts is the 3.0/4.0 number of initial download attempts before Error.
	InitialSyncAttempts = 25
)

// Settings is the normalised, validated model the agent consumes.
type Settings struct {
	// Schema is the schema the settings were read with.
	Schema Schema
	// PollingInterval is how often Key Vault is polled.
	PollingInterval time.Duration
	// LinkOnRenewal links the old certificate to its renewal (Windows; always true in 4.0).
	LinkOnRenewal bool
	// RequireInitialSync delays success until every certificate is installed (always true in 4.0).
	RequireInitialSync bool
	// InitialSync is the resulting rule for reporting success.
	InitialSync InitialSyncPolicy
	// Certificates are the observed certificates, in the order given.
	Certificates []Certificate
	// Secrets are the observed plain secrets, each written to a file
	// (Linux, akvvm extension observedSecrets), in the order given.
	Secrets []Secret
	// Identity is the managed identity used to reach Key Vault.
	Identity Identity
	// RemoveOnUninstall removes the certificates akvvm installed when the
	// extension is uninstalled (akvvm extension removeCertificatesOnUninstall).
	RemoveOnUninstall bool
	// ExpiryWarning is how long before its expiry an installed certificate
	// is a warning (akvvm extension expiryWarningInS); zero means the
	// default: 30 days or a third of its lifetime, whichever is shorter.
	ExpiryWarning time.Duration
	// MetricsListen is where the service serves metrics and health
	// (akvvm extension metricsListen); empty for nowhere.
	MetricsListen string
	// Logging is the Linux loggingSettings object, as given; nil when absent.
	Logging *Logging
	// Warnings are problems akvvm worked around, such as double-encoded settings.
	Warnings []Problem
	// Within is where the settings object sits in the file, such as
	// runtimeSettings[0].handlerSettings.publicSettings; empty when the
	// file is the settings object. Paths in problems are inside it.
	Within string
}

// InitialSyncPolicy says when the extension reports success.
type InitialSyncPolicy struct {
	// Wait reports success only after every certificate is installed.
	Wait bool
	// MaxAttempts bounds the attempts before reporting Error; 0 retries forever.
	MaxAttempts int
}

// Certificate is one observed certificate and where it is installed.
type Certificate struct {
	// URL is the certificate's secret URL.
	URL keyvault.SecretURL
	// StoreName is the Windows store name, such as MY; empty on Linux.
	StoreName string
	// StoreLocation is LocalMachine or CurrentUser on Windows, a directory on Linux.
	StoreLocation string
	// Accounts get read access to the private key (Windows).
	Accounts []string
	// KeyExportable marks the private key exportable (Windows 3.0).
	KeyExportable bool
	// LinkName is the Linux symbolic link name (customSymbolicLinkName); empty means <vault>.<name>.
	LinkName string
	// ACLs grant read access to users and groups (Linux, when aclEnabled).
	ACLs []store.ACL
	// Outputs are the extra files written per version (Linux, akvvm extension outputs).
	Outputs store.Outputs
	// RelativeLinks makes the links relative (Linux, akvvm extension relativeLinks).
	RelativeLinks bool
	// ReloadCommand is the argv run after a new version is installed; empty for none.
	ReloadCommand []string
	// ReloadTimeout bounds ReloadCommand.
	ReloadTimeout time.Duration
	// ActivationDelay is how long after its creation in the vault a new
	// version may become current (akvvm extension activationDelayInS); a
	// new version also waits for its nbf. Zero: as soon as it is valid.
	ActivationDelay time.Duration
}

// Identity is the managed identity akvvm uses.
type Identity struct {
	// Endpoint is the full token URL, ending in /oauth2/token.
	Endpoint string
	// ClientID selects a user-assigned identity; empty means the system-assigned one.
	ClientID string
	// ObjectID selects a user-assigned identity by its object (principal)
	// id (msiObjectId); at most one of ClientID, ObjectID and ResourceID is set.
	ObjectID string
	// ResourceID selects a user-assigned identity by its ARM resource id,
	// given by mistake in msiClientId (accepted with a warning).
	ResourceID string
}

// UserAssigned reports whether the settings select a user-assigned identity.
func (id Identity) UserAssigned() bool {
	return id.ClientID != "" || id.ObjectID != "" || id.ResourceID != ""
}

// Name names the identity for people: "the system-assigned identity",
// "user-assigned identity <client id>", "user-assigned identity with object
// id <id>" or "user-assigned identity <resource id>".
func (id Identity) Name() string {
	switch {
	case id.ClientID != "":
		return "user-assigned identity " + id.ClientID
	case id.ObjectID != "":
		return "user-assigned identity with object id " + id.ObjectID
	case id.ResourceID != "":
		return "user-assigned identity " + id.ResourceID
	}
	return "the system-assigned identity"
}

// Logging is KeyVaultForLinux's optional log forwarding (loggingSettings).
type Logging struct {
	Logger      string
	Endpoint    string
	Format      string
	ServiceName string
}

// Target maps a certificate to where its store installs it. Keys are
// exportable only in 3.0 (1.0 and 4.0 have no keyExportable); 4.0 puts them
// into CNG with KeyGuard, 1.0 and 3.0 where the PFX names.
func (s Settings) Target(c Certificate) store.Target {
	v40 := s.Schema == Schema{Windows, "4.0"}
	return store.Target{
		Location:      c.StoreLocation,
		StoreName:     c.StoreName,
		LinkName:      c.LinkName,
		ACLs:          c.ACLs,
		Outputs:       c.Outputs,
		RelativeLinks: c.RelativeLinks,
		Accounts:      c.Accounts,
		KeyExportable: c.KeyExportable && s.Schema == Schema{Windows, "3.0"},
		// Only Windows has renewal links; Linux settings may carry the field.
		LinkOnRenewal: s.LinkOnRenewal && s.Schema.Platform == Windows,
		KeyAlwaysCNG:  v40,
		KeyIsolation:  v40,
	}
}
