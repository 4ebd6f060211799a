//go:build !windows

package main

import (
	"os"
	"syscall"
)

// stopSignals end akvvm run cleanly; reloadSignals re-read the settings.
var (
	stopSignals   = []os.Signal{os.Interrupt, syscall.SIGTERM}
	reloadSignals = []os.Signal{syscall.SIGHUP}
)
