package winsvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// Config describes a service to install.
type Config struct {
	Name        string
	DisplayName string
	Description string
	// Exe is the absolute path of the program; Args follow it on the
	// service command line.
	Exe  string
	Args []string
	// DemandStart registers the service to start only when asked
	// (SetStartType makes it start at boot); otherwise it starts at boot.
	DemandStart bool
}

// startType is the start type c asks for.
func (c Config) startType() uint32 {
	if c.DemandStart {
		return windows.SERVICE_DEMAND_START
	}
	return windows.SERVICE_AUTO_START
}

// pollInterval is how often a state change is checked.
const pollInterval = 100 * time.Millisecond

func connect() (*mgr.Mgr, error) {
	m, err := mgr.Connect()
	if err != nil {
		return nil, fmt.Errorf("connect to the service control manager (run as administrator): %w", err)
	}
	return m, nil
}

// Install creates the service with automatic start (or demand start, as c
// says) and restart on failure,
// or updates its command line and names when it exists (without stopping
// it). Recovery actions that cannot be set are logged, not fatal.
func Install(c Config, log *slog.Logger) error {
	m, err := connect()
	if err != nil {
		return err
	}
	defer m.Disconnect()
	cfg := mgr.Config{DisplayName: c.DisplayName, Description: c.Description, StartType: c.startType()}
	s, err := m.OpenService(c.Name)
	if err == nil {
		// Not s.Config/UpdateConfig: they query configuration levels
		// Wine does not implement.
		if err := update(s, c); err != nil {
			s.Close()
			return fmt.Errorf("update service %s: %w", c.Name, err)
		}
	} else {
		s, err = m.CreateService(c.Name, c.Exe, cfg, c.Args...)
		if err != nil {
			return fmt.Errorf("create service %s (run as administrator): %w", c.Name, err)
		}
	}
	defer s.Close()
	actions := []mgr.RecoveryAction{
		{Type: mgr.ServiceRestart, Delay: 10 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 30 * time.Second},
		{Type: mgr.ServiceRestart, Delay: time.Minute},
	}
	if err := s.SetRecoveryActions(actions, uint32((24 * time.Hour).Seconds())); err != nil && log != nil {
		log.Warn("the service will not be restarted after a crash: setting its recovery actions failed", "service", c.Name, "error", err)
	}
	return nil
}

// commandLine quotes exe and args the way CreateService does.
func commandLine(exe string, args []string) string {
	s := windows.EscapeArg(exe)
	for _, a := range args {
		s += " " + windows.EscapeArg(a)
	}
	return s
}

// update sets the command line, start type and names of an existing service.
func update(s *mgr.Service, c Config) error {
	bin, err := windows.UTF16PtrFromString(commandLine(c.Exe, c.Args))
	if err != nil {
		return err
	}
	disp, err := windows.UTF16PtrFromString(c.DisplayName)
	if err != nil {
		return err
	}
	if err := windows.ChangeServiceConfig(s.Handle, windows.SERVICE_NO_CHANGE, c.startType(),
		windows.SERVICE_NO_CHANGE, bin, nil, nil, nil, nil, nil, disp); err != nil {
		return err
	}
	desc, err := windows.UTF16PtrFromString(c.Description)
	if err != nil {
		return err
	}
	d := windows.SERVICE_DESCRIPTION{Description: desc}
	return windows.ChangeServiceConfig2(s.Handle, windows.SERVICE_CONFIG_DESCRIPTION, (*byte)(unsafe.Pointer(&d)))
}

// SetStartType makes the service start at boot (automatic) or only when
// asked (demand start).
func SetStartType(name string, automatic bool) error {
	start := uint32(windows.SERVICE_DEMAND_START)
	if automatic {
		start = windows.SERVICE_AUTO_START
	}
	_, err := withService(name, func(s *mgr.Service) (struct{}, error) {
		// Not s.UpdateConfig: it queries configuration levels Wine does
		// not implement.
		if err := windows.ChangeServiceConfig(s.Handle, windows.SERVICE_NO_CHANGE, start,
			windows.SERVICE_NO_CHANGE, nil, nil, nil, nil, nil, nil, nil); err != nil {
			return struct{}{}, fmt.Errorf("set the start type of service %s: %w", name, err)
		}
		return struct{}{}, nil
	})
	return err
}

// CommandLine returns the installed service's command line.
func CommandLine(name string) (string, error) {
	return withService(name, func(s *mgr.Service) (string, error) {
		var need uint32
		n := uint32(1024)
		for {
			buf := make([]byte, n)
			qsc := (*windows.QUERY_SERVICE_CONFIG)(unsafe.Pointer(&buf[0]))
			err := windows.QueryServiceConfig(s.Handle, qsc, n, &need)
			if err == nil {
				return windows.UTF16PtrToString(qsc.BinaryPathName), nil
			}
			if !errors.Is(err, windows.ERROR_INSUFFICIENT_BUFFER) || need <= n {
				return "", fmt.Errorf("query the configuration of service %s: %w", name, err)
			}
			n = need
		}
	})
}

// ErrNotInstalled is matched by errors about a service that does not exist.
var ErrNotInstalled = errors.New("service not installed")

func withService[T any](name string, f func(*mgr.Service) (T, error)) (T, error) {
	var zero T
	m, err := connect()
	if err != nil {
		return zero, err
	}
	defer m.Disconnect()
	s, err := m.OpenService(name)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return zero, fmt.Errorf("%s: %w (akvvm service install creates it)", name, ErrNotInstalled)
	}
	if err != nil {
		return zero, fmt.Errorf("open service %s: %w", name, err)
	}
	defer s.Close()
	return f(s)
}

// State returns the service's current state.
func State(name string) (svc.State, error) {
	return withService(name, func(s *mgr.Service) (svc.State, error) {
		st, err := s.Query()
		if err != nil {
			return 0, fmt.Errorf("query service %s: %w", name, err)
		}
		return st.State, nil
	})
}

// Start starts the service and waits until it runs; a running service is
// left as it is.
func Start(ctx context.Context, name string) error {
	_, err := withService(name, func(s *mgr.Service) (struct{}, error) {
		st, err := s.Query()
		if err != nil {
			return struct{}{}, fmt.Errorf("query service %s: %w", name, err)
		}
		if st.State != svc.Running {
			if err := s.Start(); err != nil && !errors.Is(err, windows.ERROR_SERVICE_ALREADY_RUNNING) {
				return struct{}{}, fmt.Errorf("start service %s: %w (see its log)", name, err)
			}
		}
		return struct{}{}, waitFor(ctx, s, svc.Running)
	})
	return err
}

// Stop stops the service and waits until it has stopped; a stopped service
// is left as it is.
func Stop(ctx context.Context, name string) error {
	_, err := withService(name, func(s *mgr.Service) (struct{}, error) {
		return struct{}{}, stop(ctx, s)
	})
	return err
}

func stop(ctx context.Context, s *mgr.Service) error {
	st, err := s.Query()
	if err != nil {
		return fmt.Errorf("query service %s: %w", s.Name, err)
	}
	if st.State == svc.Stopped {
		return nil
	}
	if st.State != svc.StopPending {
		if _, err := s.Control(svc.Stop); err != nil && !errors.Is(err, windows.ERROR_SERVICE_NOT_ACTIVE) {
			return fmt.Errorf("stop service %s: %w", s.Name, err)
		}
	}
	return waitFor(ctx, s, svc.Stopped)
}

// Restart stops the service when it runs, then starts it.
func Restart(ctx context.Context, name string) error {
	if err := Stop(ctx, name); err != nil {
		return err
	}
	return Start(ctx, name)
}

// Uninstall stops and deletes the service; a missing service is not an error.
func Uninstall(ctx context.Context, name string) error {
	_, err := withService(name, func(s *mgr.Service) (struct{}, error) {
		if err := stop(ctx, s); err != nil {
			return struct{}{}, err
		}
		if err := s.Delete(); err != nil {
			return struct{}{}, fmt.Errorf("delete service %s: %w", name, err)
		}
		return struct{}{}, nil
	})
	if errors.Is(err, ErrNotInstalled) {
		return nil
	}
	return err
}

func waitFor(ctx context.Context, s *mgr.Service, want svc.State) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Minute)
		defer cancel()
	}
	for {
		st, err := s.Query()
		if err != nil {
			return fmt.Errorf("query service %s: %w", s.Name, err)
		}
		if st.State == want {
			return nil
		}
		if want == svc.Running && st.State == svc.Stopped {
			return fmt.Errorf("service %s stopped right after starting (exit code %d, service code %d): see its log", s.Name, st.Win32ExitCode, st.ServiceSpecificExitCode)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("service %s is %s, not %s, after waiting: %w", s.Name, stateName(uint32(st.State)), stateName(uint32(want)), ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// stateName names a service state (svc.State values) for messages.
func stateName(s uint32) string {
	names := map[uint32]string{1: "stopped", 2: "start pending", 3: "stop pending", 4: "running",
		5: "continue pending", 6: "pause pending", 7: "paused"}
	if n, ok := names[s]; ok {
		return n
	}
	return "unknown"
}
