// Package agent keeps observed certificates installed: one reconcile loop
// that polls Key Vault, downloads new versions, installs them into a store,
// runs the renewal side effects and reports state.
package agent

import (
	"time"

	"github.com/akvvm/akvvm/internal/secretfile"
	"github.com/akvvm/akvvm/internal/store"
)

// Spec is what the agent keeps in place, derived from the settings.
type Spec struct {
	// Certificates are the observed certificates.
	Certificates []CertSpec
	// Interval is the polling interval.
	Interval time.Duration
	// InitialSync says when the agent reports success.
	InitialSync InitialSync
	// Versions is how many of the newest usable versions are installed
	// (2 for 4.0, 1 otherwise).
	Versions int
	// Keep is how many installed versions are kept; 0 never removes any.
	Keep int
	// VerifyChain checks the chain of every server-auth leaf before install (4.0).
	VerifyChain bool
	// ExpiryWarning is how long before its expiry the installed current
	// version is a warning; zero means DefaultExpiryWarning or a third of
	// its lifetime, whichever is shorter.
	ExpiryWarning time.Duration
	// Warnings are what the settings needed repaired or ignored (double
	// encoding, an ignored field), each with its path and fix; the status
	// carries them.
	Warnings []string
}

// InitialSync is the rule for the first download of every certificate.
type InitialSync struct {
	// Wait reports transitioning until every certificate is installed;
	// without it the agent reports success as soon as polling starts.
	Wait bool
	// MaxAttempts is how many failed attempts per certificate end the
	// initial sync with an error; 0 retries forever.
	MaxAttempts int
}

// CertSpec is one observed certificate.
type CertSpec struct {
	// Ref names the certificate (vault and secret name).
	store.Ref
	// VaultURL is "https://<vault host>".
	VaultURL string
	// URL is the observed URL as configured, for messages.
	URL string
	// PinnedVersion fetches exactly this version (3.0); empty follows the newest.
	PinnedVersion string
	// Target is where the certificate is installed.
	Target store.Target
	// Reload runs after a new version is installed; nil runs nothing.
	Reload *Hook
	// ID tells apart two entries observing the same secret (for example
	// into two stores); empty means vault/name is unique.
	ID string
	// ActivationDelay is how long after its creation a new version may
	// become current (activationDelayInS); it also waits for its nbf.
	ActivationDelay time.Duration
	// Secret, when set, makes the entry a plain secret written to this
	// file (observedSecrets) instead of a certificate; Target.Location is
	// then the file's path and the store is not used.
	Secret *secretfile.Target
}

// Key identifies the certificate in state and status: ID when set, else
// vault/name.
func (c CertSpec) Key() string {
	if c.ID != "" {
		return c.ID
	}
	return c.Vault + "/" + c.Name
}

// Hook is a command run after a new version is installed.
type Hook struct {
	Command []string
	Timeout time.Duration
}
