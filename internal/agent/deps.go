package agent

import (
	"context"
	"log/slog"
	"time"

	"github.com/akvvm/akvvm/internal/certbundle"
	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/store"
)

// DefaultConcurrency is the number of certificates checked at once unless
// Deps.Concurrency says otherwise.
const DefaultConcurrency = 4

// SecretSource reads secret versions; keyvault.Clients implements it.
type SecretSource interface {
	Versions(ctx context.Context, vaultURL, name string) ([]keyvault.Version, error)
	Get(ctx context.Context, vaultURL, name, version string) (*keyvault.Secret, error)
	// ListSecrets lists the vault's secrets (each current version's
	// attributes), at most maxPages pages, handing each page to each.
	ListSecrets(ctx context.Context, vaultURL string, maxPages int, each func([]keyvault.SecretItem)) (keyvault.Listing, error)
}

// Event describes a change of the current version: a newly installed
// version, or an installed one made current again.
type Event struct {
	Cert CertSpec
	// Previous is the version that was current before, nil on first install.
	Previous *store.Installed
	// Installed is the new current version.
	Installed store.Installed
	// Bundle is the decoded certificate that was installed; nil when an
	// installed version was made current again without a download.
	Bundle *certbundle.Bundle
	// Rollback says Previous was withdrawn in the vault (disabled, expired
	// or gone) and Installed is an older version made current again.
	Rollback bool
}

// Notifier runs a renewal side effect. Its failure is reported and never
// undoes the install.
type Notifier interface {
	Notify(ctx context.Context, e Event) error
}

// Clock tells time and waits; tests use a fake that never sleeps.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// TimeoutClock is a Clock that can turn a duration of its own time into a
// context deadline. A Clock without it runs on real time, and the agent
// uses context.WithTimeout.
type TimeoutClock interface {
	Clock
	WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc)
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Deps are the agent's collaborators.
type Deps struct {
	Source SecretSource
	Store  store.Store
	// Verify configures the 4.0 chain check.
	Verify certbundle.VerifyOptions
	// Notifiers run after each new version, in order, after the reload hook.
	Notifiers []Notifier
	// Identity describes the managed identity, for error messages.
	Identity string
	// StatusFile, when set, receives the status: at the start of every
	// pass, at most every StatusEvery during it, and at its end.
	StatusFile string
	// StatusEvery is the shortest time between two writes of the status
	// file during a pass, in real time; default 2 s.
	StatusEvery time.Duration
	// Progress, when set, is called at the start of every pass (done 0)
	// and after every certificate it checks.
	Progress func(done, total int)
	Clock    Clock
	Logger   *slog.Logger
	// Concurrency bounds parallel certificate syncs; default
	// DefaultConcurrency. It is also the most requests the agent sends to
	// one vault at once: a vault's probe runs before its other
	// certificates are queued for the workers (dispatch.go).
	Concurrency int
	// Observer, when set, learns every check and pass (metrics).
	Observer Observer
	// Secrets writes the files of observedSecrets; required when the spec
	// has secrets.
	Secrets SecretFiles
	// FullRecheck is the longest a secret goes without a full listing of
	// its versions under the vault-wide strategy; default
	// DefaultFullRecheck.
	FullRecheck time.Duration
}
