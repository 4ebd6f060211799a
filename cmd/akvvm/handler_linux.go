package main

import (
	"errors"
	"log/slog"

	"github.com/akvvm/akvvm/internal/handler"
	"github.com/akvvm/akvvm/packaging"
)

// platformServiceManager returns systemd, which must be running.
func platformServiceManager(*slog.Logger) (handler.ServiceManager, error) {
	if !handler.SystemdRunning() {
		return nil, errors.New("systemd is not running on this machine, so akvvm_service cannot be installed: " +
			"set AKVVM_SERVICE_MANAGER=manual and run akvvm handler service yourself")
	}
	return handler.Systemd{UnitDir: handler.DefaultUnitDir, Unit: packaging.SystemdUnit(), Run: handler.ExecRunner}, nil
}
