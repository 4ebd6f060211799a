package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/akvvm/akvvm/internal/fsutil"
)

// ServiceName is the name of the service akvvm runs as, on Linux and Windows.
const ServiceName = "akvvm_service"

// ServiceManager installs and controls the service that runs
// "akvvm handler service".
type ServiceManager interface {
	// Install registers the service to run binary, neither starting it
	// nor starting it at boot. Installing again replaces the registration.
	Install(ctx context.Context, binary string) error
	// Restart makes the service start at boot and starts it, or restarts
	// it when it runs.
	Restart(ctx context.Context) error
	// Stop stops the service and keeps it from starting at boot; stopping
	// a stopped service succeeds.
	Stop(ctx context.Context) error
	// Uninstall stops the service and removes its registration; removing
	// a missing service succeeds.
	Uninstall(ctx context.Context) error
}

// Runner runs a command and returns its combined output.
type Runner func(ctx context.Context, name string, args ...string) ([]byte, error)

// ExecRunner runs commands with os/exec.
func ExecRunner(ctx context.Context, name string, args ...string) ([]byte, error) {
	return exec.CommandContext(ctx, name, args...).CombinedOutput()
}

// Systemd manages the service as the systemd unit akvvm_service.service.
type Systemd struct {
	// UnitDir is where the unit file goes, normally /etc/systemd/system.
	UnitDir string
	// Unit is the unit file template; "@BINARY@" is replaced by the binary.
	Unit string
	// Run runs systemctl.
	Run Runner
}

// UnitName is the systemd unit of the service.
const UnitName = ServiceName + ".service"

// DefaultUnitDir is where administrators' units live.
const DefaultUnitDir = "/etc/systemd/system"

// RenderUnit fills the unit template with the binary path.
func RenderUnit(tmpl, binary string) (string, error) {
	if !strings.HasPrefix(binary, "/") || strings.ContainsAny(binary, "\"\\\n%$") {
		return "", fmt.Errorf("the binary path %q cannot go into a systemd unit: it must be absolute without quotes, backslashes, %% or $", binary)
	}
	if !strings.Contains(tmpl, "@BINARY@") {
		return "", errors.New("the unit template lacks @BINARY@: rebuild the package")
	}
	return strings.ReplaceAll(tmpl, "@BINARY@", binary), nil
}

// Install writes the unit file and reloads systemd. The unit is not
// enabled: enable enables it, disable disables it again.
func (s Systemd) Install(ctx context.Context, binary string) error {
	unit, err := RenderUnit(s.Unit, binary)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.UnitDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", s.UnitDir, err)
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(s.UnitDir, UnitName), []byte(unit), 0o644); err != nil {
		return fmt.Errorf("write the systemd unit: %w", err)
	}
	return s.systemctl(ctx, "daemon-reload")
}

// Restart enables the unit at boot and (re)starts it.
func (s Systemd) Restart(ctx context.Context) error {
	if err := s.systemctl(ctx, "enable", UnitName); err != nil {
		return err
	}
	return s.systemctl(ctx, "restart", UnitName)
}

// Stop disables the unit at boot and stops it. Both are tried: a unit that
// does not stop still does not come back at the next boot.
func (s Systemd) Stop(ctx context.Context) error {
	return errors.Join(s.systemctl(ctx, "disable", UnitName), s.systemctl(ctx, "stop", UnitName))
}

// Uninstall stops and disables the unit and removes its file.
func (s Systemd) Uninstall(ctx context.Context) error {
	p := filepath.Join(s.UnitDir, UnitName)
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	var errs []error
	for _, args := range [][]string{{"stop", UnitName}, {"disable", UnitName}} {
		if err := s.systemctl(ctx, args...); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("remove the systemd unit: %w", err))
	}
	if err := s.systemctl(ctx, "daemon-reload"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (s Systemd) systemctl(ctx context.Context, args ...string) error {
	out, err := s.Run(ctx, "systemctl", args...)
	if err != nil {
		return fmt.Errorf("systemctl %s: %w: %s (see journalctl -u %s)", strings.Join(args, " "), err, strings.TrimSpace(string(out)), UnitName)
	}
	return nil
}

// Manual is used where no service manager is available (containers, tests):
// it only logs, and an operator or test runs "akvvm handler service".
type Manual struct{ Log *slog.Logger }

// Install logs that the service must be run by hand.
func (m Manual) Install(_ context.Context, binary string) error {
	m.Log.Warn("no service manager: run the service yourself", "command", binary+" handler service")
	return nil
}

// Restart logs that the service must be restarted by hand.
func (m Manual) Restart(context.Context) error {
	m.Log.Warn("no service manager: restart akvvm handler service yourself to apply the settings")
	return nil
}

// Stop logs that the service must be stopped by hand.
func (m Manual) Stop(context.Context) error {
	m.Log.Warn("no service manager: stop akvvm handler service yourself")
	return nil
}

// Uninstall does nothing.
func (m Manual) Uninstall(context.Context) error { return nil }

// ErrNoServiceManager is matched by the errors of Unavailable.
var ErrNoServiceManager = errors.New("no service manager")

// Unavailable is the service manager of a machine that has none akvvm can
// use (Linux without systemd): every call fails with Reason, which says
// what to do instead.
type Unavailable struct{ Reason string }

func (u Unavailable) err() error { return fmt.Errorf("%w: %s", ErrNoServiceManager, u.Reason) }

// Install fails with the reason.
func (u Unavailable) Install(context.Context, string) error { return u.err() }

// Restart fails with the reason.
func (u Unavailable) Restart(context.Context) error { return u.err() }

// Stop fails with the reason.
func (u Unavailable) Stop(context.Context) error { return u.err() }

// Uninstall fails with the reason.
func (u Unavailable) Uninstall(context.Context) error { return u.err() }

// SystemdRunning reports whether the machine was booted with systemd.
func SystemdRunning() bool {
	fi, err := os.Stat("/run/systemd/system")
	return err == nil && fi.IsDir()
}
