package main

import (
	"context"
	"log/slog"

	"github.com/akvvm/akvvm/internal/handler"
	"github.com/akvvm/akvvm/internal/notify"
	"github.com/akvvm/akvvm/internal/winsvc"
)

// platformServiceManager returns the Windows service manager.
func platformServiceManager(log *slog.Logger) (handler.ServiceManager, error) {
	return windowsService{log: log}, nil
}

// handlerServiceArgs is the service command line after the binary: akvvm
// handler service, run under the service control manager.
var handlerServiceArgs = []string{"service", runHandlerUse}

// windowsService manages akvvm_service as a Windows service that runs
// "akvvm handler service", and the event source of event 1001.
type windowsService struct{ log *slog.Logger }

// Install registers the event source and creates or updates the service.
func (w windowsService) Install(_ context.Context, binary string) error {
	if err := notify.InstallSource(); err != nil {
		return err
	}
	return winsvc.Install(winsvc.Config{
		Name: handler.ServiceName, DisplayName: winsvc.DisplayName, Description: winsvc.Description,
		Exe: binary, Args: handlerServiceArgs,
	}, w.log)
}

// Restart stops the service when it runs and starts it.
func (w windowsService) Restart(ctx context.Context) error {
	return winsvc.Restart(ctx, handler.ServiceName)
}

// Stop stops the service; a stopped service stays stopped.
func (w windowsService) Stop(ctx context.Context) error {
	return winsvc.Stop(ctx, handler.ServiceName)
}

// Uninstall removes the service and the event source.
func (w windowsService) Uninstall(ctx context.Context) error {
	if err := winsvc.Uninstall(ctx, handler.ServiceName); err != nil {
		return err
	}
	return notify.RemoveSource()
}
