//go:build !windows

package main

import (
	"log/slog"

	"github.com/akvvm/akvvm/internal/agent"
)

// platformNotifiers returns none: Linux has no lifecycle notification.
func platformNotifiers(*slog.Logger) []agent.Notifier { return nil }
