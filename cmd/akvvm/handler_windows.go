package main

import (
	"errors"
	"log/slog"

	"github.com/akvvm/akvvm/internal/handler"
)

// platformServiceManager reports that the Windows service is not built yet.
func platformServiceManager(*slog.Logger) (handler.ServiceManager, error) {
	return nil, errors.New("the Windows service akvvm_service is not implemented yet (it comes with the Windows certificate store, issue 5): " +
		"set AKVVM_SERVICE_MANAGER=manual and run akvvm handler service yourself")
}
