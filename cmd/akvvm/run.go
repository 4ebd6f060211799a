package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newRunCommand) }

func newRunCommand() *cobra.Command {
	var (
		f         agentFlags
		asService bool
	)
	cmd := &cobra.Command{
		Use:   "run --settings FILE",
		Short: "Keep the observed certificates installed (the service)",
		Long: `Run the agent: poll Key Vault at the settings' interval, install every new version,
keep the status file current for akvvm status, and run until stopped.
SIGHUP re-reads the settings (a bad file is reported and the old settings stay);
SIGTERM or Ctrl-C stops cleanly. akvvm sync --now --state-dir DIR asks it to check
every certificate at once, through the socket DIR/akvvm.sock (Linux).`,
		Example: `  akvvm run --settings /etc/akvvm/settings.json
  akvvm run --settings settings.json --log-json --log-level debug
  akvvm run --settings settings.json --metrics-listen 127.0.0.1:9464`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if asService || isWindowsService() {
				return runService(&f, func(ctx context.Context) error { return runAgent(ctx, &f) })
			}
			return runAgent(cmd.Context(), &f)
		},
	}
	f.register(cmd.Flags())
	f.metrics.register(cmd.Flags())
	cmd.Flags().BoolVar(&asService, "as-service", false, "run under the Windows service manager (the command line akvvm service install sets)")
	_ = cmd.Flags().MarkHidden("as-service")
	return cmd
}

// runAgent runs the agent until ctx ends or a stop signal arrives.
func runAgent(ctx context.Context, f *agentFlags) error {
	a, log, err := f.start()
	if err != nil {
		return err
	}
	defer f.closeLogs()
	ctx, stop := signal.NotifyContext(ctx, stopSignals...)
	defer stop()
	defer serveControl(ctx, f.stateDir, a, log).Close()
	if f.metrics.m != nil {
		if err := f.metrics.m.Serve(ctx, f.metrics.addr, a.Ready, log); err != nil {
			return err
		}
	}
	reload := make(chan os.Signal, 1)
	if len(reloadSignals) > 0 {
		signal.Notify(reload, reloadSignals...)
		defer signal.Stop(reload)
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-reload:
				s, err := f.loadSettings()
				if err != nil {
					log.Error("settings reload failed; keeping the current settings", "error", err)
					continue
				}
				spec := agent.SpecFromSettings(s)
				if err := agent.CheckOverlaps(spec.Certificates); err != nil {
					log.Error("settings reload failed; keeping the current settings", "error", err)
					continue
				}
				f.noteLogging(s, log)
				a.Reload(spec)
			}
		}
	}()
	return a.Run(ctx)
}
