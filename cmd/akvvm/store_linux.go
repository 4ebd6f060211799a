package main

import (
	"log/slog"

	"github.com/akvvm/akvvm/internal/store"
	"github.com/akvvm/akvvm/internal/store/filestore"
)

// newStore returns the Linux directory store.
func newStore(log *slog.Logger) (store.Store, error) {
	return filestore.New(filestore.Options{Logger: log}), nil
}
