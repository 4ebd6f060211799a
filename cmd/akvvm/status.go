package main

import (
	"encoding/json"
	"path/filepath"
	"time"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newStatusCommand) }

// statusFileName is the agent's status file inside the state directory.
const statusFileName = "status.json"

func newStatusCommand() *cobra.Command {
	var stateDir string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show what is installed, when it was checked, and the last error of each certificate",
		Long: `Show the state written by a running agent (akvvm run) or the last akvvm sync:
per certificate the installed version, thumbprint, expiry, last and next check, and
the real cause of the last failure (HTTP status, Key Vault error code, identity),
and a WARNING line for each certificate whose installed version expires soon while the
vault offers nothing newer (expiryWarningInS, default 30 days or a third of its
lifetime), has expired, or is not valid yet.
The agent writes the file when it starts and while a pass runs: a check in flight is
shown as "checking for … (attempt n of 25)", and rows marked * are what the previous
run knew, until this process has checked them.`,
		Example: `  akvvm status
  akvvm status --json | jq '.certificates[] | {key, thumbprint, notAfter}'
  akvvm status --state-dir /tmp/akvvm-state`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := agent.ReadStatusFile(filepath.Join(stateDir, statusFileName))
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(s)
			}
			return printStatusTable(cmd.OutOrStdout(), s, time.Now())
		},
	}
	cmd.Flags().StringVar(&stateDir, "state-dir", defaultStateDir, "directory of the agent's status file")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	return cmd
}
