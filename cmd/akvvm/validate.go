package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/config"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newValidateCommand) }

// exitInvalidSettings is the exit status of validate for settings with problems.
const exitInvalidSettings = 2

func newValidateCommand() *cobra.Command {
	var file, compat, platform string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "validate --settings FILE [--compat VERSION] [--platform windows|linux] [--json]",
		Short: "Check extension settings and show what akvvm would do with them",
		Long: `validate reads the public settings of the Key Vault VM extension and checks them against
one schema: KeyVaultForWindows 1.0, 3.0 or 4.0, or KeyVaultForLinux 2.0 or 3.0. The schema is
never guessed: --platform picks Windows or Linux (default: the system validate runs on) and
--compat the version (default: 4.0 on Windows, 3.0 on Linux).

FILE may hold the settings object itself, the guest agent's RuntimeSettings file, an ARM
extension resource, or the output of "az vm extension show"; "-" reads standard input.

Valid settings: prints what will be watched, where each certificate is installed, which
identity is used and when success is reported, and exits 0.
Invalid settings: prints every problem to standard error, each with its JSON path, what is
wrong and how to fix it, and exits 2. Paths are inside the extension's settings, as the operator
writes them (secretsManagementSettings.observedCertificates[1].url); for a file that wraps the
settings (the guest agent's file keeps them at runtimeSettings[0].handlerSettings.publicSettings,
an ARM resource at properties.settings) the first line says where they are.`,
		Example: `  akvvm validate --settings settings.json
  akvvm validate --settings settings.json --compat 3.0 --platform windows
  akvvm validate --settings /var/lib/waagent/Microsoft.Azure.KeyVault.KeyVaultForLinux-3.0.0/config/0.settings --platform linux
  az vm extension show -g rg --vm-name vm -n KeyVaultForWindows | akvvm validate --settings - --platform windows --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if platform == "" {
				platform = string(config.Linux)
				if runtime.GOOS == "windows" {
					platform = string(config.Windows)
				}
			}
			schema, err := config.ParseSchema(platform, compat)
			if err != nil {
				return fmt.Errorf("choose the schema: %w", err)
			}
			data, err := readSettings(cmd.InOrStdin(), file)
			if err != nil {
				return err
			}
			s, err := config.Parse(data, config.Options{Schema: schema})
			var problems config.Errors
			if errors.As(err, &problems) {
				printProblems(cmd.ErrOrStderr(), file, schema, problems)
				return exitError{exitInvalidSettings}
			}
			if err != nil {
				return err
			}
			if schema.Platform == config.Linux && runtime.GOOS == "linux" {
				if err := agent.CheckOverlaps(agent.SpecFromSettings(s).Certificates); err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: the store directories on this machine overlap:\n  - %s\n",
						displayName(file), strings.ReplaceAll(err.Error(), "\n", "\n  - "))
					return exitError{exitInvalidSettings}
				}
				if problems := secretProblems(s); len(problems) > 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: the observedSecrets files cannot be written as the settings say on this machine:\n  - %s\n",
						displayName(file), strings.Join(problems, "\n  - "))
					return exitError{exitInvalidSettings}
				}
				if problems := passwordFileProblems(s); len(problems) > 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: the PFX password files the settings name are not usable on this machine:\n  - %s\n",
						displayName(file), strings.Join(problems, "\n  - "))
					return exitError{exitInvalidSettings}
				}
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(jsonView(s))
			}
			return printSettings(cmd.OutOrStdout(), file, s)
		},
	}
	cmd.Flags().StringVar(&file, "settings", "", `settings file to check ("-" for standard input)`)
	cmd.Flags().StringVar(&compat, "compat", "", "extension version whose schema applies: 1.0, 3.0 or 4.0 on Windows; 2.0 or 3.0 on Linux (default: the newest)")
	cmd.Flags().StringVar(&platform, "platform", "", "windows or linux (default: the system validate runs on)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the normalised settings as JSON")
	_ = cmd.MarkFlagRequired("settings")
	return cmd
}

func readSettings(stdin io.Reader, file string) ([]byte, error) {
	if file == "-" {
		data, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("read settings from standard input: %w", err)
		}
		return data, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read settings: %w; check the path given to --settings", err)
	}
	return data, nil
}

func displayName(file string) string {
	if file == "-" {
		return "standard input"
	}
	return file
}

func printProblems(w io.Writer, file string, schema config.Schema, problems config.Errors) {
	noun := "problem"
	if len(problems) > 1 {
		noun = "problems"
	}
	where := ""
	if within := problems.Within(); within != "" {
		where = "; paths are inside " + within + ", where the file keeps the extension's settings"
	}
	fmt.Fprintf(w, "%s: not valid %s settings (%d %s%s):\n", displayName(file), schema, len(problems), noun, where)
	for _, p := range problems {
		fmt.Fprintf(w, "  - %s\n", p)
	}
}

// printSettings writes the normalised model in a form people read.
func printSettings(w io.Writer, file string, s *config.Settings) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: valid %s settings\n\n", displayName(file), s.Schema)
	fmt.Fprintf(&b, "Polling:       every %s\n", s.PollingInterval)
	fmt.Fprintf(&b, "Initial sync:  %s\n", initialSyncText(s.InitialSync))
	if s.Schema.Platform == config.Windows {
		link := "no (linkOnRenewal is false): bindings stay on the old certificate"
		if s.LinkOnRenewal {
			link = "yes: the previous certificate is linked to each renewal (CERT_RENEWAL)"
		}
		fmt.Fprintf(&b, "Renewal link:  %s\n", link)
	}
	fmt.Fprintf(&b, "Identity:      %s\n", identityText(s.Identity))
	if l := s.Logging; l != nil {
		fmt.Fprintf(&b, "Logging:       %s to %s (format %s, service %s)\n", l.Logger, l.Endpoint, l.Format, l.ServiceName)
	}
	fmt.Fprintf(&b, "Certificates:  %d\n", len(s.Certificates))
	for i, c := range s.Certificates {
		fmt.Fprintf(&b, "\n  %d. %s\n", i+1, c.URL)
		fmt.Fprintf(&b, "     vault:       %s (%s, %s)\n", c.URL.Vault, c.URL.Cloud.Name, c.URL.VaultURL())
		version := "follows the latest version"
		if c.URL.Version != "" {
			version = "pinned to version " + c.URL.Version
		}
		fmt.Fprintf(&b, "     secret:      %s, %s\n", c.URL.Name, version)
		if s.Schema.Platform == config.Windows {
			fmt.Fprintf(&b, "     installed:   %s\\%s (intermediates in %s\\CA)\n", c.StoreLocation, c.StoreName, c.StoreLocation)
			access := "Administrators and SYSTEM: full control"
			if len(c.Accounts) > 0 {
				access += "; read: " + strings.Join(c.Accounts, ", ")
			}
			fmt.Fprintf(&b, "     key access:  %s\n", access)
			if c.KeyExportable {
				fmt.Fprintf(&b, "     key export:  allowed\n")
			}
		} else {
			link := c.LinkName
			if link == "" {
				link = c.URL.Vault + "." + c.URL.Name
			}
			fmt.Fprintf(&b, "     installed:   %s/%s (link to the current version)\n", c.StoreLocation, link)
			access := "root only"
			for _, a := range c.ACLs {
				var who []string
				if a.User != "" {
					who = append(who, "user "+a.User)
				}
				if a.Group != "" {
					who = append(who, "group "+a.Group)
				}
				access += "; read: " + strings.Join(who, ", ")
			}
			fmt.Fprintf(&b, "     access:      %s\n", access)
			printOutputs(&b, c, link)
		}
		if len(c.ReloadCommand) > 0 {
			fmt.Fprintf(&b, "     on renewal:  run %q (timeout %s)\n", c.ReloadCommand, c.ReloadTimeout)
		}
		if c.ActivationDelay > 0 {
			fmt.Fprintf(&b, "     activation:  a new version becomes current %s after its creation in the vault (and not before its nbf)\n", c.ActivationDelay)
		}
	}
	printSecrets(&b, s)
	if len(s.Warnings) > 0 {
		fmt.Fprintf(&b, "\nWarnings:\n")
		if s.Within != "" {
			fmt.Fprintf(&b, "  (paths are inside %s, where the file keeps the extension's settings)\n", s.Within)
		}
		for _, p := range s.Warnings {
			fmt.Fprintf(&b, "  - %s\n", p)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func initialSyncText(p config.InitialSyncPolicy) string {
	switch {
	case !p.Wait:
		return "success is reported as soon as polling starts (requireInitialSync is false)"
	case p.MaxAttempts == 0:
		return "success is reported only after every certificate is installed; the first download is retried forever (Transitioning)"
	}
	return fmt.Sprintf("success is reported only after every certificate is installed; up to %d attempts with growing back-off (Transitioning), then Error", p.MaxAttempts)
}

func identityText(id config.Identity) string {
	switch {
	case id.ObjectID != "":
		return "user-assigned managed identity with object id " + id.ObjectID + ", token from " + id.Endpoint
	case id.ResourceID != "":
		return "user-assigned managed identity " + id.ResourceID + " (by resource id), token from " + id.Endpoint
	case id.ClientID == "":
		return "system-assigned managed identity, token from " + id.Endpoint
	}
	return "user-assigned managed identity " + id.ClientID + ", token from " + id.Endpoint
}

// jsonView is the --json form of the normalised settings.
func jsonView(s *config.Settings) map[string]any {
	certs := make([]map[string]any, 0, len(s.Certificates))
	for _, c := range s.Certificates {
		t := s.Target(c)
		certs = append(certs, map[string]any{
			"url": c.URL.String(), "vault": c.URL.Vault, "vaultUrl": c.URL.VaultURL(), "cloud": c.URL.Cloud.Name,
			"name": c.URL.Name, "version": c.URL.Version,
			"storeName": t.StoreName, "storeLocation": t.Location, "accounts": t.Accounts, "keyExportable": t.KeyExportable,
			"linkName": t.LinkName, "acls": t.ACLs,
			"reloadCommand": c.ReloadCommand, "reloadTimeoutInS": int64(c.ReloadTimeout.Seconds()),
			"activationDelayInS": int64(c.ActivationDelay.Seconds()),
		})
		addOutputsView(certs[len(certs)-1], t)
	}
	warnings := make([]string, 0, len(s.Warnings))
	for _, p := range s.Warnings {
		warnings = append(warnings, p.String())
	}
	v := map[string]any{
		"platform": s.Schema.Platform, "version": s.Schema.Version,
		"pollingIntervalInS": int64(s.PollingInterval.Seconds()),
		"linkOnRenewal":      s.LinkOnRenewal, "requireInitialSync": s.RequireInitialSync,
		"initialSync": map[string]any{"wait": s.InitialSync.Wait, "maxAttempts": s.InitialSync.MaxAttempts},
		"identity": map[string]any{"endpoint": s.Identity.Endpoint, "clientId": s.Identity.ClientID,
			"objectId": s.Identity.ObjectID, "resourceId": s.Identity.ResourceID},
		"certificates": certs,
		"warnings":     warnings,
		// Where the file keeps the settings; the warnings' paths are inside it.
		"settingsPath": s.Within,
	}
	if len(s.Secrets) > 0 {
		v["secrets"] = secretsView(s)
	}
	if l := s.Logging; l != nil {
		v["logging"] = map[string]string{"logger": l.Logger, "endpoint": l.Endpoint, "format": l.Format, "servicename": l.ServiceName}
	}
	return v
}
