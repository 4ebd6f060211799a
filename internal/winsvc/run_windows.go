package winsvc

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/windows/svc"
)

// Run runs fn as the service name under the service control manager: it
// reports running, cancels fn's context on Stop or Shutdown and reports
// stopped once fn has returned. fn's error becomes the service's exit code.
func Run(name string, fn func(ctx context.Context) error) error {
	h := &handler{fn: fn}
	if err := svc.Run(name, h); err != nil {
		return fmt.Errorf("run as service %s (only the service control manager can start it this way): %w", name, err)
	}
	return h.err
}

// IsService reports whether the process was started by the service
// control manager (always false under Wine).
func IsService() bool {
	ok, err := svc.IsWindowsService()
	return err == nil && ok
}

type handler struct {
	fn  func(ctx context.Context) error
	err error
}

// Execute implements svc.Handler.
func (h *handler) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.fn(ctx) }()
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for {
		select {
		case err := <-done:
			h.err = err
			if err != nil {
				return true, 1
			}
			return false, 0
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending}
				cancel()
				if err := <-done; !errors.Is(err, context.Canceled) {
					h.err = err
				}
				if h.err != nil {
					return true, 1
				}
				return false, 0
			}
		}
	}
}
