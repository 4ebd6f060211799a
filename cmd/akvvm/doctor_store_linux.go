package main

import (
	"context"
	"log/slog"

	"github.com/akvvm/akvvm/internal/config"
	"github.com/akvvm/akvvm/internal/doctor"
)

// doctorStore checks that a Linux store directory is writable.
func doctorStore(*slog.Logger) func(context.Context, config.Certificate) doctor.Result {
	return func(_ context.Context, c config.Certificate) doctor.Result {
		return doctor.CheckDirectory(c.StoreLocation)
	}
}
