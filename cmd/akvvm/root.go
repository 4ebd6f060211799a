package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// exitError ends the process with code after the command has printed its own report.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// codedError is a failure whose message main prints before exiting with code.
type codedError struct {
	code int
	err  error
}

func (e codedError) Error() string { return e.err.Error() }
func (e codedError) Unwrap() error { return e.err }

// subcommands lists the constructors of the top-level subcommands.
// Each file of this package that adds a subcommand appends to it in init.
var subcommands []func() *cobra.Command

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "akvvm",
		Short: "Keep certificates from Azure Key Vault installed on this machine",
		Long: `akvvm watches certificates in Azure Key Vault and installs every new version into the
machine's certificate store (the Windows certificate store, or a directory in the
KeyVaultForLinux layout on Linux). It runs as a service or as the Azure VM extension
handler, and ships a local Key Vault emulator so it can be tried without Azure.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, c := range subcommands {
		root.AddCommand(c())
	}
	return root
}
