package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/akvvm/akvvm/internal/handler"
	"github.com/akvvm/akvvm/internal/notify"
	"github.com/akvvm/akvvm/internal/winsvc"
	"github.com/spf13/pflag"
)

// platformServiceManager returns the Windows service manager.
func platformServiceManager(log *slog.Logger) (handler.ServiceManager, error) {
	return windowsService{log: log, testFlags: os.Getenv(serviceTestFlagsEnv)}, nil
}

// handlerServiceArgs is the service command line after the binary: akvvm
// handler service, run under the service control manager.
func handlerServiceArgs() []string { return []string{"service", runHandlerUse} }

// serviceTestFlagsEnv (TEST ONLY, never set by the guest agent) holds a JSON
// array of test-only flags of "akvvm handler service" that install appends
// to the service's command line. The service control manager starts the
// service with its own environment, so this is how the e2e test under Wine
// routes the service to the emulator, as the Linux e2e test does by running
// "akvvm handler service --connect-to ... --ca-file ..." itself.
const serviceTestFlagsEnv = "AKVVM_TEST_SERVICE_FLAGS"

// serviceTestFlags names the flags serviceTestFlagsEnv may carry.
const serviceTestFlags = "--connect-to, --ca-file and --test-time-scale"

// parseServiceTestFlags checks the value of serviceTestFlagsEnv and
// returns its flags; an empty value gives none.
func parseServiceTestFlags(v string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	var args []string
	if err := json.Unmarshal([]byte(v), &args); err != nil {
		return nil, fmt.Errorf("%s is not a JSON array of strings: %w; unset it outside tests", serviceTestFlagsEnv, err)
	}
	fs := pflag.NewFlagSet(serviceTestFlagsEnv, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var net netFlags
	net.register(fs)
	fs.Float64("test-time-scale", 1, "")
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("%s: %w; it may only hold %s", serviceTestFlagsEnv, err, serviceTestFlags)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%s: unexpected arguments %q; it may only hold %s", serviceTestFlagsEnv, fs.Args(), serviceTestFlags)
	}
	return args, nil
}

// windowsService manages akvvm_service as a Windows service that runs
// "akvvm handler service", and the event source of event 1001.
type windowsService struct {
	log *slog.Logger
	// testFlags is the value of serviceTestFlagsEnv.
	testFlags string
}

// Install registers the event source and creates or updates the service,
// started only when asked: enable makes it start at boot.
func (w windowsService) Install(_ context.Context, binary string) error {
	extra, err := parseServiceTestFlags(w.testFlags)
	if err != nil {
		return err
	}
	if len(extra) > 0 {
		w.log.Warn("TEST ONLY: the service gets test flags", "env", serviceTestFlagsEnv, "flags", extra)
	}
	if err := notify.InstallSource(); err != nil {
		return err
	}
	return winsvc.Install(winsvc.Config{
		Name: handler.ServiceName, DisplayName: winsvc.DisplayName, Description: winsvc.Description,
		Exe: binary, Args: append(handlerServiceArgs(), extra...), DemandStart: true,
	}, w.log)
}

// Restart makes the service start at boot, stops it when it runs and
// starts it.
func (w windowsService) Restart(ctx context.Context) error {
	if err := winsvc.SetStartType(handler.ServiceName, true); err != nil {
		return err
	}
	return winsvc.Restart(ctx, handler.ServiceName)
}

// Stop makes the service start only when asked and stops it; a stopped
// service stays stopped. Both are tried.
func (w windowsService) Stop(ctx context.Context) error {
	return errors.Join(winsvc.SetStartType(handler.ServiceName, false), winsvc.Stop(ctx, handler.ServiceName))
}

// Uninstall removes the service and the event source.
func (w windowsService) Uninstall(ctx context.Context) error {
	if err := winsvc.Uninstall(ctx, handler.ServiceName); err != nil {
		return err
	}
	return notify.RemoveSource()
}
