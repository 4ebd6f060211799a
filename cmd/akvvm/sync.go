package main

import (
	"fmt"
	"os"
	"time"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/control"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func init() { subcommands = append(subcommands, newSyncCommand) }

func newSyncCommand() *cobra.Command {
	var f agentFlags
	var once, now bool
	cmd := &cobra.Command{
		Use:   "sync --once --settings FILE | sync --now [--state-dir DIR]",
		Short: "Check every certificate once, install what is new, and exit",
		Long: `Check every observed certificate once: list its versions in Key Vault, download and
install what is not installed yet, then print the status table and a result line.

With --once this process does the pass. With --now the running service (akvvm run,
or the handler's service) whose state directory is --state-dir does it at once,
whatever its polling interval, and this command waits for the pass to end; a second
--now while one runs joins it. On Linux it needs the service's user or root (the
socket DIR/akvvm.sock is 0600); on Windows an elevated prompt, SYSTEM or the service's
user (the named pipe \\.\pipe\akvvm-<hash of DIR> admits no one else).

Exit codes, for scripts and provisioning:
  0  every certificate is installed and was checked against the vault in this pass
  1  some certificate is not installed (see LAST ERROR), or akvvm could not start
  2  the settings are not valid (the same messages as akvvm validate)
  3  every certificate is installed, but checking some of them failed in this pass,
     so what is installed may be out of date, or a reload command failed (see LAST ERROR)`,
		Example: `  akvvm sync --once --settings /etc/akvvm/settings.json
  akvvm sync --once --settings settings.json --compat 3.0 --state-dir /tmp/akvvm
  akvvm sync --now
  akvvm sync --now --state-dir /var/lib/waagent/Microsoft.Azure.KeyVault.KeyVaultForLinux-3.0.0/state`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var st agent.Status
			switch {
			case once && now:
				return fmt.Errorf("--once and --now exclude each other: --once runs the pass here, --now asks the running service")
			case now:
				if cmd.Flags().Changed("settings") {
					return fmt.Errorf("--now takes no --settings: the running service uses its own; give its --state-dir")
				}
				var err error
				if st, err = control.SyncNow(cmd.Context(), f.stateDir); err != nil {
					return err
				}
			case once:
				a, _, err := f.start()
				if err != nil {
					return err
				}
				defer f.closeLogs()
				st = a.SyncOnce(cmd.Context())
			default:
				return fmt.Errorf("sync runs one pass only: add --once to run it here or --now to ask the running service (use akvvm run to keep polling)")
			}
			out := cmd.OutOrStdout()
			if err := printStatusTable(out, st, time.Now()); err != nil {
				return err
			}
			r := judgeSync(st)
			if _, err := fmt.Fprintf(out, "\nResult: %s (exit %d)\n", r.summary, r.code); err != nil {
				return err
			}
			if r.code != exitAllCurrent {
				return exitError{code: r.code}
			}
			return nil
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().BoolVar(&once, "once", false, "run one pass here and exit")
	cmd.Flags().BoolVar(&now, "now", false, "ask the running service of --state-dir for a pass now and wait for it")
	return cmd
}

// terminalProgress returns a progress printer when w is a terminal, else nil.
func terminalProgress(w *os.File) func(done, total int) {
	if !term.IsTerminal(int(w.Fd())) {
		return nil
	}
	return func(done, total int) {
		fmt.Fprintf(w, "\rchecked %d of %d certificates", done, total)
		if done == total {
			fmt.Fprintln(w)
		}
	}
}
