package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/akvvm/akvvm/internal/doctor"
)

func init() { subcommands = append(subcommands, newDoctorCommand) }

// Exit codes of akvvm doctor.
const (
	doctorAllPassed   = 0
	doctorFailed      = 1
	doctorBadSettings = 2
)

func newDoctorCommand() *cobra.Command {
	// The flags of sync that doctor uses: settings, logs, and the
	// test-only routing and trust.
	var f agentFlags
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "doctor --settings FILE",
		Short: "Check everything akvvm needs to reach its vaults, and say what to fix",
		Long: `Check, in order, what akvvm needs to keep the observed certificates installed, one line
per check (✓ passed, ✗ failed with the fix on the next line, ! a warning with its fix, – skipped
after an earlier failure):

  settings          the settings are valid (the same rules as akvvm validate)
  identity endpoint the managed-identity endpoint (IMDS, msiEndpoint, Azure Arc) accepts connections
  token             a token is obtained: client id and object id of the identity, tenant,
                    audience and expiry (read from the token's claims; the token is never printed)
  per vault:
    DNS             the vault's name resolves; a private address means a private endpoint
    TLS             the TLS handshake succeeds: the certificate's subject and issuer
    challenge       the unauthenticated 401's Bearer challenge: resource and authorization (tenant)
    secrets get     the identity may get each observed certificate's secret (the value is
                    discarded unread); 404 (no such secret) is told apart from 403 (refused), and
                    a refusal says whether the vault uses Azure RBAC or access policies
    secrets list    the identity may list the secret's versions; refused while get works is a
                    warning (!): akvvm then downloads the current value each poll
    clock           this machine's clock is within 5 minutes of the vault's Date header
  store             each certificate store is writable (Linux: a temporary file with akvvm's
                    reserved prefix is created and removed; Windows: the store is opened)

Nothing is installed and no status file is written. Requests are not retried: doctor reports
the first answer.

Exit codes:
  0  every check passed (warnings, ! lines, included)
  1  some check failed (see the ✗ lines) or could not run (– lines)
  2  the settings are not valid`,
		Example: `  akvvm doctor --settings /etc/akvvm/settings.json
  akvvm doctor --settings settings.json --compat 2.0

  # Against the emulator (test only)
  akvvm doctor --settings settings.json --connect-to '*.vault.azure.net=127.0.0.1:8443' --ca-file ~/.local/state/akvvm/emulator/ca.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return runDoctor(ctx, cmd, &f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.settings, "settings", "", "settings file (the extension's public settings, in any documented form); - reads stdin")
	fs.StringVar(&f.compat, "compat", "", "settings schema version: 1.0, 3.0 or 4.0 on Windows, 2.0 or 3.0 on Linux (default: the newest)")
	fs.StringVar(&f.logLevel, "log-level", "warn", "log level of the clients' own lines on stderr: debug (one line per request), info, warn or error")
	fs.BoolVar(&f.logJSON, "log-json", false, "write logs as JSON lines")
	f.net.register(fs)
	fs.DurationVar(&timeout, "timeout", 3*time.Minute, "give up on the checks after this long")
	return cmd
}

// runDoctor prints the checks and returns the exit code as an exitError.
func runDoctor(ctx context.Context, cmd *cobra.Command, f *agentFlags) error {
	out := cmd.OutOrStdout()
	rep := doctor.NewReport(out)
	log, err := f.logger()
	if err != nil {
		return err
	}
	topts, err := f.net.options()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "akvvm doctor: %s\n\n", f.settings)
	s, err := f.loadSettings()
	if err != nil {
		var ce codedError
		if errors.As(err, &ce) && ce.code == exitInvalidSettings {
			rep.Add(doctor.Result{Outcome: doctor.Fail, Check: "settings", Detail: "not valid",
				Fix: "correct the problems below (akvvm validate prints the same)"})
			fmt.Fprintln(out, err)
			return exitError{code: doctorBadSettings}
		}
		rep.Add(doctor.Result{Outcome: doctor.Fail, Check: "settings", Detail: "cannot be read: " + err.Error(),
			Fix: "check the path, and run akvvm as a user that may read the file"})
		return exitError{code: doctorFailed}
	}
	rep.Add(doctor.Result{Outcome: doctor.Pass, Check: "settings", Detail: doctor.Describe(s)})
	if err := doctor.Run(ctx, rep, doctor.Options{Settings: s, Transport: topts, Store: doctorStore(log), Logger: log}); err != nil {
		return err
	}
	code := doctorAllPassed
	if !rep.AllPassed() {
		code = doctorFailed
	}
	fmt.Fprintf(out, "\nResult: %s (exit %d)\n", rep.Summary(), code)
	if code != doctorAllPassed {
		return exitError{code: code}
	}
	return nil
}
