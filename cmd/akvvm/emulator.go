package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/akvvm/akvvm/internal/fsutil"

	"github.com/spf13/cobra"

	"github.com/akvvm/akvvm/internal/emulator"
)

func init() { subcommands = append(subcommands, newEmulatorCommand) }

// emulatorOptions are the flags of 'akvvm emulator'.
type emulatorOptions struct {
	listen, imdsListen string
	stateDir           string
	inMemory           bool
	vaults, identities []string
	throttle           int
	slidingThrottle    bool
	tokenLifetime      time.Duration
	arc                bool
	noSystemIdentity   bool
	logLevel           string
	readyFile          string
	dateSkew           time.Duration
	http1Only          bool
}

func newEmulatorCommand() *cobra.Command {
	var o emulatorOptions
	cmd := &cobra.Command{
		Use:   "emulator",
		Short: "Run a local Key Vault and managed-identity endpoint for demos and tests",
		Long: `Run a local Azure Key Vault (secrets API, certificate-backed secrets in PFX and PEM)
and an IMDS-compatible managed-identity token endpoint.

Vaults are served over HTTPS under their real host names (myvault.vault.azure.net, and the
sovereign clouds' suffixes) with a certificate from the emulator's own CA. Clients keep real
vault URLs and TLS verification: they only route the vault host names to the --listen address
and trust the printed CA file. Tokens come only from the emulator's identity endpoint.

State (CA, token key, vaults, identities, secrets) is kept in --state-dir, by default
$XDG_STATE_HOME/akvvm/emulator or ~/.local/state/akvvm/emulator. The subcommands talk to a
running emulator's admin API.`,
		Example: `  # Start with one vault and print the client options
  akvvm emulator --vault myvault

  # A China-cloud vault, a user-assigned identity and a small throttling limit
  akvvm emulator --vault myvault --vault cnvault:china --identity 11111111-2222-4333-8444-555555555555 --throttle 100

  # In another terminal: issue a certificate into the running emulator
  akvvm emulator cert create --vault myvault --name web --dns www.example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runEmulator(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr(), nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:8443", "HTTPS address of the vaults and the admin API")
	f.StringVar(&o.imdsListen, "imds-listen", "127.0.0.1:8080", "HTTP address of the managed-identity token endpoint")
	f.StringVar(&o.stateDir, "state-dir", defaultEmulatorStateDir(), "directory that keeps the CA, vaults and secrets across restarts")
	f.BoolVar(&o.inMemory, "in-memory", false, "keep nothing on disk (a new CA on every start)")
	f.StringArrayVar(&o.vaults, "vault", nil, "create a vault NAME or NAME:CLOUD (cloud: public, china, usgov, germany); repeatable")
	f.StringArrayVar(&o.identities, "identity", nil, "add a user-assigned identity by client id; repeatable")
	f.IntVar(&o.throttle, "throttle", emulator.DefaultThrottleLimit, "requests per vault per 10 s before 429 (negative disables)")
	f.BoolVar(&o.slidingThrottle, "sliding-throttle", false, "use a sliding 10 s throttling window instead of fixed windows")
	f.DurationVar(&o.tokenLifetime, "token-lifetime", time.Hour, "lifetime of issued tokens")
	f.BoolVar(&o.arc, "arc", false, "behave like Azure Arc's identity endpoint (Basic challenge with a key file)")
	f.BoolVar(&o.noSystemIdentity, "no-system-identity", false, "have no system-assigned identity (token requests must name a client id)")
	f.DurationVar(&o.dateSkew, "date-skew", 0, "TEST ONLY: shift the Date header of vault answers by this much (e.g. 10m or -10m), as a client with a wrong clock sees it")
	f.BoolVar(&o.http1Only, "http1-only", false, "offer HTTP/1.1 alone, as a proxy that cannot speak HTTP/2 would (default: HTTP/2 and HTTP/1.1 by ALPN, as Key Vault)")
	f.StringVar(&o.readyFile, "ready-file", "", "when listening, write the addresses, admin URL, identity endpoint and CA file to this JSON file (for scripts)")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug (one line per request), info, warn or error")
	cmd.AddCommand(newEmulatorCertCommand(), newEmulatorSecretCommand(), newEmulatorVaultCommand(), newEmulatorIdentityCommand(),
		newEmulatorFaultCommand(), newEmulatorRequestsCommand())
	return cmd
}

// defaultEmulatorStateDir is $XDG_STATE_HOME/akvvm/emulator or ~/.local/state/akvvm/emulator.
func defaultEmulatorStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "akvvm", "emulator")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".local", "state", "akvvm", "emulator")
}

// runEmulator starts the emulator, prints how to reach it, calls ready (when
// not nil) and serves until ctx ends.
func runEmulator(ctx context.Context, o emulatorOptions, out, errOut io.Writer, ready func(*emulator.Emulator)) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: use debug, info, warn or error", o.logLevel)
	}
	cfg := emulator.Config{
		HTTPSAddr: o.listen, IMDSAddr: o.imdsListen, StateDir: o.stateDir,
		TokenLifetime: o.tokenLifetime, ThrottleLimit: o.throttle, ThrottleSliding: o.slidingThrottle,
		Arc: o.arc, NoSystemIdentity: o.noSystemIdentity, DateSkew: o.dateSkew, HTTP1Only: o.http1Only,
		Logger: slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: level})),
	}
	if o.inMemory {
		cfg.StateDir = ""
	} else if cfg.StateDir == "" {
		return fmt.Errorf("no home directory for the default state directory: pass --state-dir DIR or --in-memory")
	}
	e, err := emulator.New(cfg)
	if err != nil {
		return err
	}
	defer e.Close()
	for _, id := range o.identities {
		if err := e.AddIdentity(id); err != nil {
			return fmt.Errorf("--identity: %w", err)
		}
	}
	for _, v := range o.vaults {
		name, cloudName, _ := strings.Cut(v, ":")
		if _, err := e.CreateVault(emulator.VaultSpec{Name: name, Cloud: cloudName}); err != nil {
			return fmt.Errorf("--vault %s: %w", v, err)
		}
	}
	if err := e.Start(); err != nil {
		return err
	}
	printEmulatorInfo(out, e, cfg.StateDir)
	if o.readyFile != "" {
		data, err := json.MarshalIndent(e.Ready(), "", "  ")
		if err != nil {
			return err
		}
		if err := fsutil.WriteFileAtomic(o.readyFile, append(data, '\n'), 0o644); err != nil {
			return fmt.Errorf("--ready-file: %w", err)
		}
		defer os.Remove(o.readyFile)
	}
	if ready != nil {
		ready(e)
	}
	<-ctx.Done()
	fmt.Fprintln(out, "Stopping the emulator.")
	return e.Close()
}

// printEmulatorInfo tells the user the URLs and the exact client options.
func printEmulatorInfo(w io.Writer, e *emulator.Emulator, stateDir string) {
	fmt.Fprintln(w, "akvvm emulator is running.")
	fmt.Fprintln(w, "Vaults:")
	vaults := e.Vaults()
	if len(vaults) == 0 {
		fmt.Fprintln(w, "  (none yet: akvvm emulator vault create --name myvault)")
	}
	for _, v := range vaults {
		fmt.Fprintf(w, "  %s  (%s, %d secrets)\n", v.URL, v.Cloud, v.Secrets)
	}
	fmt.Fprintf(w, "Identity endpoint (msiEndpoint): %s\n", e.IMDSEndpoint())
	fmt.Fprintf(w, "Identities: %s\n", strings.Join(e.Identities(), ", "))
	if f := e.ArcKeyFile(); f != "" {
		fmt.Fprintf(w, "Arc key file: %s\n", f)
	}
	fmt.Fprintf(w, "Admin API: %s\n", e.AdminURL())
	fmt.Fprintf(w, "CA file: %s\n", e.CAFile())
	if stateDir != "" {
		fmt.Fprintf(w, "State directory: %s\n", stateDir)
	} else {
		fmt.Fprintln(w, "State: in memory (lost on exit)")
	}
	opts := e.TransportOptions()
	fmt.Fprintln(w, "Client options (test-only; production never sets them):")
	for _, r := range opts.Routes {
		if strings.HasPrefix(r.Host, "*.vault.") {
			fmt.Fprintf(w, "  --connect-to '%s'\n", r.String())
		}
	}
	fmt.Fprintf(w, "  --ca-file %s\n", opts.CAFile)
	fmt.Fprintln(w, "Press Ctrl+C to stop.")
}
