package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func init() { subcommands = append(subcommands, newSyncCommand) }

func newSyncCommand() *cobra.Command {
	var f agentFlags
	var once bool
	cmd := &cobra.Command{
		Use:   "sync --once --settings FILE",
		Short: "Check every certificate once, install what is new, and exit",
		Long: `Check every observed certificate once: list its versions in Key Vault, download and
install what is not installed yet, then print the status table and a result line.

Exit codes, for scripts and provisioning:
  0  every certificate is installed and was checked against the vault in this pass
  1  some certificate is not installed (see LAST ERROR), or akvvm could not start
  2  the settings are not valid (the same messages as akvvm validate)
  3  every certificate is installed, but checking some of them failed in this pass,
     so what is installed may be out of date, or a reload command failed (see LAST ERROR)`,
		Example: `  akvvm sync --once --settings /etc/akvvm/settings.json
  akvvm sync --once --settings settings.json --compat 3.0 --state-dir /tmp/akvvm`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !once {
				return fmt.Errorf("sync runs one pass only: add --once (use akvvm run to keep polling)")
			}
			a, _, err := f.start()
			if err != nil {
				return err
			}
			defer f.closeLogs()
			st := a.SyncOnce(cmd.Context())
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
	cmd.Flags().BoolVar(&once, "once", false, "run one pass and exit (required)")
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
