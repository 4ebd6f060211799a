package main

import "os"

// stopSignals end akvvm run cleanly; Windows has no reload signal.
var (
	stopSignals   = []os.Signal{os.Interrupt}
	reloadSignals []os.Signal
)
