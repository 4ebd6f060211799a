package doctor

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/akvvm/akvvm/internal/config"
	"github.com/akvvm/akvvm/internal/identity"
	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/transport"
)

// MaxClockSkew is the clock difference doctor accepts: Microsoft Entra ID
// tokens and Key Vault allow about five minutes.
const MaxClockSkew = 5 * time.Minute

// checkTimeout bounds each network check.
const checkTimeout = 20 * time.Second

// Options are what the checks need.
type Options struct {
	// Settings are the valid settings to diagnose.
	Settings *config.Settings
	// Transport holds the test-only routes and CA file (zero in production).
	Transport transport.Options
	// Store checks one certificate's store; nil skips the store checks.
	Store func(ctx context.Context, c config.Certificate) Result
	// Resolver resolves vault names; nil means net.DefaultResolver.
	Resolver Resolver
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives the clients' debug lines; nil discards them.
	Logger *slog.Logger
}

// Resolver looks up a host's addresses; *net.Resolver is one.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// doctor holds the clients and what earlier checks found.
type doctor struct {
	opts     Options
	rep      *Report
	cred     *identity.Credential
	kv       *keyvault.Clients
	kvHTTP   *http.Client
	now      func() time.Time
	resolver Resolver
	// tokens are the claims of the token obtained per resource; a
	// resource missing here had no token.
	tokens map[string]claims
}

// Run performs every check after the settings and adds each result to rep.
func Run(ctx context.Context, rep *Report, opts Options) error {
	d, err := newDoctor(rep, opts)
	if err != nil {
		return err
	}
	if d.checkEndpoint(ctx) {
		d.checkTokens(ctx)
	} else {
		for _, res := range d.resources() {
			rep.Add(Result{Outcome: Skip, Check: "token for " + res, Detail: "skipped: the identity endpoint is not reachable"})
		}
	}
	for _, host := range d.vaultHosts() {
		d.checkVault(ctx, host)
	}
	d.checkStores(ctx)
	d.checkSecretFiles()
	return nil
}

func newDoctor(rep *Report, opts Options) (*doctor, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	imdsHTTP, err := transport.NewClient(opts.Transport, transport.ClientConfig{NoProxy: true, Timeout: checkTimeout, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("identity HTTP client: %w", err)
	}
	kvHTTP, err := transport.NewClient(opts.Transport, transport.ClientConfig{Timeout: checkTimeout, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("key vault HTTP client: %w", err)
	}
	s := opts.Settings
	// One try each: doctor reports the first answer instead of retrying.
	cred, err := identity.New(identity.Options{Endpoint: s.Identity.Endpoint, ClientID: s.Identity.ClientID, ObjectID: s.Identity.ObjectID, ResourceID: s.Identity.ResourceID,
		HTTPClient: imdsHTTP, Logger: log, MaxRetries: -1})
	if err != nil {
		return nil, fmt.Errorf("authenticationSettings: %w", err)
	}
	kv := keyvault.NewClients(cred, keyvault.Options{HTTPClient: kvHTTP,
		Retry: policy.RetryOptions{MaxRetries: -1, TryTimeout: checkTimeout}})
	d := &doctor{opts: opts, rep: rep, cred: cred, kv: kv, kvHTTP: kvHTTP, now: opts.Now,
		resolver: opts.Resolver, tokens: map[string]claims{}}
	if d.now == nil {
		d.now = time.Now
	}
	if d.resolver == nil {
		d.resolver = net.DefaultResolver
	}
	return d, nil
}

// resources lists the token audiences of the observed vaults, in order.
func (d *doctor) resources() []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range d.observed() {
		if r := c.URL.Cloud.Resource; !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// vaultHosts lists the observed vaults' host names, in order.
func (d *doctor) vaultHosts() []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range d.observed() {
		if h := c.URL.Host; !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out
}

// certificatesOf lists the observed certificates of the vault host.
func (d *doctor) certificatesOf(host string) []config.Certificate {
	var out []config.Certificate
	for _, c := range d.observed() {
		if c.URL.Host == host {
			out = append(out, c)
		}
	}
	return out
}

// Describe summarises valid settings for the settings check.
func Describe(s *config.Settings) string {
	vaults := map[string]bool{}
	for _, c := range s.Certificates {
		vaults[c.URL.Host] = true
	}
	for _, sec := range s.Secrets {
		vaults[sec.URL.Host] = true
	}
	id := s.Identity.Name()
	what := plural(len(s.Certificates), "certificate")
	if len(s.Secrets) > 0 {
		what += " and " + plural(len(s.Secrets), "secret")
	}
	text := fmt.Sprintf("%s, %s in %s, %s", s.Schema, what, plural(len(vaults), "vault"), id)
	if n := len(s.Warnings); n > 0 {
		var ws []string
		for _, w := range s.Warnings {
			ws = append(ws, w.String())
		}
		text += fmt.Sprintf(" (%s: %s)", plural(n, "warning"), strings.Join(ws, "; "))
	}
	return text
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// short formats a duration for people: whole seconds, no "0s" tails.
func short(d time.Duration) string {
	d = d.Round(time.Second)
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
