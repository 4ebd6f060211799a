package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/config"
	"github.com/akvvm/akvvm/internal/handler"
	"github.com/akvvm/akvvm/internal/metrics"
	"github.com/akvvm/akvvm/internal/secretfile"
	"github.com/spf13/cobra"
)

func newHandlerServiceCommand() *cobra.Command {
	var (
		net       netFlags
		logLevel  string
		timeScale float64
	)
	cmd := &cobra.Command{
		Use:   "service",
		Short: "Run the agent for the handler's settings (what akvvm_service runs)",
		Long: `Run the agent with the settings akvvm handler enable handed over, keep
<statusFolder>/<seq>.status and the heartbeat file current, and log as JSON into the
handler's log folder. The agent's own status is in <handler dir>/state, so
akvvm status --state-dir <handler dir>/state shows it. While the extension is
disabled (or before the first good enable) it exits at once with code 0.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level %q: use debug, info, warn or error", logLevel)
			}
			if timeScale < 1 {
				return errors.New("--test-time-scale must be at least 1")
			}
			env, _, err := handlerEnvironment()
			if err != nil {
				return err
			}
			log, closer, err := handler.NewLogger(env.LogFolder, "akvvm_service.log", level, c.ErrOrStderr())
			if err != nil {
				return err
			}
			defer closer.Close()
			// A start by systemd at boot or by the service control manager
			// while disabled, or before the first good enable, ends here
			// with exit 0: no restart loop, and the status the last
			// enable or disable wrote stays.
			if handler.IsStopped(env.StateDir()) {
				log.Info("the extension is disabled or not enabled yet (state/stopped is present): not polling and leaving the status as it is; the next akvvm handler enable starts the service",
					"marker", handler.StoppedMarkerPath(env.StateDir()))
				return nil
			}
			cfg, err := handler.ReadServiceConfig(env.StateDir())
			if errors.Is(err, fs.ErrNotExist) {
				log.Warn("no settings were handed to the service yet: not polling; the next akvvm handler enable with valid settings starts the service",
					"missing", handler.ServiceConfigPath(env.StateDir()))
				return nil
			}
			if err != nil {
				return err
			}
			fail := func(err error) error {
				log.Error("service failed", "error", err)
				item := handler.NewStatus(env.Name, "Enable", handler.StatusError, 1, err.Error(), time.Now())
				if werr := handler.WriteStatus(env.StatusFolder, cfg.Seq, item); werr != nil {
					log.Error("could not write the status file", "error", werr)
				}
				return err
			}
			s, err := config.Parse(cfg.Settings, config.Options{Schema: cfg.Schema()})
			if err != nil {
				return fail(fmt.Errorf("settings of sequence number %d:\n%w", cfg.Seq, err))
			}
			log, stopLogs := forwardLogs(log, s)
			defer stopLogs()
			topts, err := net.options()
			if err != nil {
				return err
			}
			var m *metrics.Metrics
			if s.MetricsListen != "" {
				m = metrics.New()
			}
			deps, err := wireDepsWith(s, topts, log, m)
			if err != nil {
				return fail(err)
			}
			rep := handler.NewReporter(env, cfg.Seq, log)
			deps.Progress = rep.Progress
			deps.StatusFile = filepath.Join(env.StateDir(), handler.AgentStatusFile)
			deps.Secrets = secretfile.New(filepath.Join(env.StateDir(), secretsDirName))
			if timeScale > 1 {
				log.Warn("TEST ONLY: the agent's clock runs faster", "scale", timeScale)
				deps.Clock = handler.ScaledClock{Start: time.Now(), Scale: timeScale}
			}
			a, err := agent.New(agent.SpecFromSettings(s), deps)
			if err != nil {
				return fail(err)
			}
			ctx, stop := signal.NotifyContext(c.Context(), stopSignals...)
			defer stop()
			forced := &handler.Forced{Agent: a, Reporter: rep, StateDir: env.StateDir(), Settings: cfg.Settings, Log: log}
			defer serveControl(ctx, env.StateDir(), forced, log).Close()
			if m != nil {
				if err := m.Serve(ctx, s.MetricsListen, a.Ready, log); err != nil {
					return fail(err)
				}
			}
			log.Info("service started", "seq", cfg.Seq, "schema", s.Schema.String(), "certificates", len(s.Certificates))
			return rep.Run(ctx, a)
		},
	}
	net.register(cmd.Flags())
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	cmd.Flags().Float64Var(&timeScale, "test-time-scale", 1, "TEST ONLY: run the agent's schedule this many times faster")
	_ = cmd.Flags().MarkHidden("test-time-scale")
	return cmd
}
