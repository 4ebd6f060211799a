package main

import (
	"log/slog"
	"os"

	"github.com/akvvm/akvvm/internal/handler"
	"github.com/akvvm/akvvm/packaging"
)

// testSystemdUnitDirEnv (TEST ONLY, never set by the guest agent) makes the
// handler use systemd even where the machine was not booted with it, and
// write the unit into this directory instead of /etc/systemd/system:
// the e2e test drives the systemd code path with a stand-in systemctl.
const testSystemdUnitDirEnv = "AKVVM_TEST_SYSTEMD_UNIT_DIR"

// noSystemd says what to do on a Linux machine without systemd.
const noSystemd = "systemd is not running on this machine, so akvvm_service cannot be installed or started: " +
	"set AKVVM_SERVICE_MANAGER=manual in the guest agent's environment, run enable again and run " +
	"<handler dir>/bin/akvvm handler service yourself, or run the extension on a machine booted with systemd"

// platformServiceManager returns systemd; where it is not running, a
// manager whose every command fails saying what to do instead.
func platformServiceManager(log *slog.Logger) (handler.ServiceManager, error) {
	unitDir := handler.DefaultUnitDir
	if d := os.Getenv(testSystemdUnitDirEnv); d != "" {
		log.Warn("TEST ONLY: systemd counts as running and the unit goes to another directory", "env", testSystemdUnitDirEnv, "dir", d)
		unitDir = d
	} else if !handler.SystemdRunning() {
		return handler.Unavailable{Reason: noSystemd}, nil
	}
	return handler.Systemd{UnitDir: unitDir, Unit: packaging.SystemdUnit(), Run: handler.ExecRunner}, nil
}
