//go:build !windows

package main

import (
	"context"
	"errors"
)

// isWindowsService is false: only Windows has a service control manager.
func isWindowsService() bool { return false }

// runService refuses: --as-service is for the Windows service.
func runService(*agentFlags, func(context.Context) error) error {
	return errors.New("--as-service works only on Windows; on Linux run akvvm run under systemd")
}
