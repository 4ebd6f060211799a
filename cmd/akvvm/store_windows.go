package main

import (
	"log/slog"

	"github.com/akvvm/akvvm/internal/store"
	"github.com/akvvm/akvvm/internal/store/winstore"
)

// newStore returns the Windows certificate store.
func newStore(log *slog.Logger) (store.Store, error) {
	return winstore.New(winstore.Options{Logger: log}), nil
}
