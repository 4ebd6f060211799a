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
install what is not installed yet, then print the status table. The exit code is 0 when
every certificate is installed and 1 otherwise, so sync fits scripts and provisioning.`,
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
			st := a.SyncOnce(cmd.Context())
			if err := printStatusTable(cmd.OutOrStdout(), st, time.Now()); err != nil {
				return err
			}
			for _, c := range st.Certificates {
				if !c.Installed() {
					return exitError{code: 1}
				}
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
