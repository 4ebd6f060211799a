package main

import (
	"errors"
	"log/slog"

	"github.com/akvvm/akvvm/internal/store"
)

// newStore reports that the Windows certificate store is not built yet.
func newStore(*slog.Logger) (store.Store, error) {
	return nil, errors.New("installing into the Windows certificate store is not implemented yet (tracked in issue 5); use akvvm validate to check settings on Windows")
}
