package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/akvvm/akvvm/internal/control"
	"github.com/akvvm/akvvm/internal/handler"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newHandlerCommand) }

// serviceManagerEnv selects the service manager; "manual" (TEST ONLY, and
// for machines without systemd) leaves running the service to the caller.
const serviceManagerEnv = "AKVVM_SERVICE_MANAGER"

func newHandlerCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "handler",
		Short: "The Azure VM extension handler commands the guest agent runs",
		Long: `The commands of HandlerManifest.json. The guest agent runs them from the extension's
handler directory; each finds HandlerEnvironment.json next to the binary or one level up,
takes the extension version from AZURE_GUEST_AGENT_EXTENSION_VERSION or the directory name
(it picks the settings schema) and logs as JSON into the handler's log folder.
See docs/handler.md.`,
		Args: cobra.NoArgs,
	}
	op := func(use, short string, run func(context.Context, *handler.Handler) error) *cobra.Command {
		return &cobra.Command{
			Use: use, Short: short, Args: cobra.NoArgs,
			RunE: func(c *cobra.Command, _ []string) error {
				h, closer, err := newHandler(c.ErrOrStderr())
				if err != nil {
					return err
				}
				defer closer.Close()
				if err := run(c.Context(), h); err != nil {
					h.Log.Error(use+" failed", "error", err)
					return err
				}
				return nil
			},
		}
	}
	cmd.AddCommand(
		op("install", "Register the akvvm_service service (not started)", func(ctx context.Context, h *handler.Handler) error {
			return h.Install(ctx)
		}),
		op("enable", "Hand the current settings to the service and (re)start it", func(ctx context.Context, h *handler.Handler) error {
			ctx, cancel := context.WithTimeout(ctx, 4*time.Minute) // the guest agent allows 5 min
			defer cancel()
			res, err := h.Enable(ctx)
			if err == nil && res.Unchanged {
				fmt.Fprintf(os.Stdout, "sequence number %d already processed: nothing to do\n", res.Seq)
			}
			return err
		}),
		op("disable", "Stop the service", func(ctx context.Context, h *handler.Handler) error { return h.Disable(ctx) }),
		op("uninstall", "Remove the service and the handler's state (certificates stay unless removeCertificatesOnUninstall)", func(ctx context.Context, h *handler.Handler) error {
			return h.Uninstall(ctx)
		}),
		op("update", "Carry the previous version's state over", func(ctx context.Context, h *handler.Handler) error { return h.Update(ctx) }),
		newHandlerServiceCommand(),
	)
	return cmd
}

// handlerEnvironment finds HandlerEnvironment.json from the running binary.
func handlerEnvironment() (*handler.Environment, string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, "", fmt.Errorf("find the akvvm binary: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	env, err := handler.FindEnvironment(exe)
	return env, exe, err
}

// newHandler builds the handler for the running binary's handler directory.
func newHandler(stderr io.Writer) (*handler.Handler, io.Closer, error) {
	env, exe, err := handlerEnvironment()
	if err != nil {
		return nil, nil, err
	}
	log, closer, err := handler.NewLogger(env.LogFolder, "akvvm_handler.log", slog.LevelInfo, stderr)
	if err != nil {
		return nil, nil, err
	}
	version, err := handler.ExtensionVersion(os.Getenv(handler.VersionEnv), env.Dir)
	if err != nil {
		closer.Close()
		return nil, nil, err
	}
	schema, err := handler.SchemaFor(runtime.GOOS, version)
	if err != nil {
		closer.Close()
		return nil, nil, err
	}
	svc, err := serviceManager(log)
	if err != nil {
		closer.Close()
		return nil, nil, err
	}
	log = log.With("extension", env.Name, "version", version)
	return &handler.Handler{
		Env: env, Schema: schema, Binary: exe, Service: svc,
		Getenv: os.Getenv, Now: time.Now, Log: log, NewStore: newStore, AskSync: control.RequestSync,
	}, closer, nil
}

// serviceManager returns the platform's service manager, or the manual one
// when AKVVM_SERVICE_MANAGER=manual.
func serviceManager(log *slog.Logger) (handler.ServiceManager, error) {
	switch v := os.Getenv(serviceManagerEnv); v {
	case "":
		return platformServiceManager(log)
	case "manual":
		return handler.Manual{Log: log}, nil
	default:
		return nil, fmt.Errorf("%s=%q: use manual, or unset it for the platform's service manager", serviceManagerEnv, v)
	}
}
