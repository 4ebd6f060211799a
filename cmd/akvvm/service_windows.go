package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/akvvm/akvvm/internal/certbundle"

	"github.com/akvvm/akvvm/internal/handler"
	"github.com/akvvm/akvvm/internal/notify"
	"github.com/akvvm/akvvm/internal/winsvc"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newServiceCommand) }

// isWindowsService reports whether the service control manager started
// akvvm (never under Wine: the service command line carries --as-service).
func isWindowsService() bool { return winsvc.IsService() }

// serviceLogDir is where akvvm run logs when it runs as a service.
func serviceLogDir() string {
	base := os.Getenv("ProgramData")
	if base == "" {
		base = `C:\ProgramData`
	}
	return filepath.Join(base, "akvvm", "logs")
}

// runService runs the agent as the service akvvm_service, logging as JSON
// to a rotated file in %ProgramData%\akvvm\logs.
func runService(f *agentFlags, run func(context.Context) error) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: use debug, info, warn or error", f.logLevel)
	}
	log, closer, err := handler.NewLogger(serviceLogDir(), "akvvm_service.log", level, nil)
	if err != nil {
		return err
	}
	defer closer.Close()
	f.log = log
	log.Info("starting as the Windows service", "service", winsvc.Name, "settings", f.settings)
	err = winsvc.Run(winsvc.Name, run)
	if err != nil {
		log.Error("the service stopped with an error", "error", err)
	} else {
		log.Info("the service stopped")
	}
	return err
}

func newServiceCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "service",
		Short: "Install and control the Windows service akvvm_service",
		Long: `Install, start, stop and remove the Windows service akvvm_service, which runs
akvvm run --settings FILE --as-service, starts with Windows, is restarted after a crash
and logs to %ProgramData%\akvvm\logs. Install also registers the event source "akvvm"
for event 1001 in the Application log. Run these commands as administrator.`,
		Args: cobra.NoArgs,
	}
	var f agentFlags
	install := &cobra.Command{
		Use:     "install --settings FILE",
		Short:   "Register the service for a settings file (not started)",
		Example: `  akvvm service install --settings C:\ProgramData\akvvm\settings.json`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return serviceInstall(c.OutOrStdout(), &f)
		},
	}
	install.Flags().StringVar(&f.settings, "settings", "", "settings file the service reads (made absolute)")
	install.Flags().StringVar(&f.compat, "compat", "", "settings schema version: 1.0, 3.0 or 4.0 (default: the newest)")
	install.Flags().StringVar(&f.stateDir, "state-dir", defaultStateDir, "directory for the status file read by akvvm status")
	install.Flags().StringVar(&f.extraRoots, "extra-roots", "", "PEM file of extra trusted roots for the 4.0 chain check (made absolute)")
	install.Flags().StringVar(&f.logLevel, "log-level", "info", "log level of the service: debug, info, warn or error")
	ctl := func(use, short, done string, fn func(context.Context, string) error) *cobra.Command {
		return &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs, RunE: func(c *cobra.Command, _ []string) error {
			if err := fn(c.Context(), winsvc.Name); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "%s %s\n", winsvc.Name, done)
			return nil
		}}
	}
	cmd.AddCommand(install, newRunHandlerCommand(),
		ctl("start", "Start the service and wait until it runs", "is running", winsvc.Start),
		ctl("stop", "Stop the service and wait until it has stopped", "is stopped", winsvc.Stop),
		ctl("uninstall", "Stop and remove the service and the event source", "is removed", func(ctx context.Context, name string) error {
			if err := winsvc.Uninstall(ctx, name); err != nil {
				return err
			}
			return notify.RemoveSource()
		}),
	)
	return cmd
}

// serviceInstall checks the settings, registers the event source and
// installs the service with the absolute settings path.
func serviceInstall(out io.Writer, f *agentFlags) error {
	if f.settings == "" || f.settings == "-" {
		return fmt.Errorf("--settings is required: the path of the settings JSON the service reads")
	}
	abs, err := filepath.Abs(f.settings)
	if err != nil {
		return fmt.Errorf("--settings: %w", err)
	}
	f.settings = abs
	if _, err := f.loadSettings(); err != nil {
		return fmt.Errorf("%w\nfix the settings before installing the service", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the akvvm binary: %w", err)
	}
	args := []string{"run", "--settings", abs, "--state-dir", f.stateDir, "--" + winsvc.AsServiceFlag}
	if f.compat != "" {
		args = append(args, "--compat", f.compat)
	}
	if f.extraRoots != "" {
		roots, err := filepath.Abs(f.extraRoots)
		if err != nil {
			return fmt.Errorf("--extra-roots: %w", err)
		}
		if _, err := certbundle.LoadRootsFile(roots); err != nil {
			return fmt.Errorf("--extra-roots: %w", err)
		}
		args = append(args, "--extra-roots", roots)
	}
	if _, err := f.logger(); err != nil {
		return err
	}
	args = append(args, "--log-level", f.logLevel)
	if err := notify.InstallSource(); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg := winsvc.Config{Name: winsvc.Name, DisplayName: winsvc.DisplayName, Description: winsvc.Description, Exe: exe, Args: args}
	if err := winsvc.Install(cfg, log); err != nil {
		return err
	}
	fmt.Fprintf(out, "installed %s: %s %s\nstart it with: akvvm service start\n", winsvc.Name, exe, strings.Join(args, " "))
	return nil
}

// runHandlerUse is the hidden subcommand the handler's service runs.
const runHandlerUse = "run-handler"

// newRunHandlerCommand runs "akvvm handler service" (with the arguments
// that follow) under the service control manager: the Stop request ends
// its context.
func newRunHandlerCommand() *cobra.Command {
	return &cobra.Command{
		Use:                runHandlerUse + " [handler service flags]",
		Short:              "Run akvvm handler service as the Windows service akvvm_service",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error {
			return winsvc.Run(winsvc.Name, func(ctx context.Context) error {
				hs := newHandlerServiceCommand()
				hs.SetArgs(args)
				hs.SetOut(c.OutOrStdout())
				hs.SetErr(c.ErrOrStderr())
				hs.SilenceUsage = true
				return hs.ExecuteContext(ctx)
			})
		},
	}
}
